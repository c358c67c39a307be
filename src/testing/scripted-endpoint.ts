import type { FaultSpec } from './faults.js';
import { describeStep, sampleLatency, toStep, type FailureKind, type LatencyModel, type ReplyBody, type Step, type StepInput } from './steps.js';

/** One call an endpoint received (one attempt of the mesh), as recorded by the kit. */
export interface EndpointCall {
  /** Order of the call among all calls of the test mesh, from 1. */
  seq: number;
  /** The service whose endpoint this is, or `undefined` for an egress origin. */
  service: string | undefined;
  /** The endpoint's origin, e.g. `http://10.0.0.1:8080`. */
  endpoint: string;
  /** Upper-case method. */
  method: string;
  /** Path with query string, as sent. */
  path: string;
  /** Request headers, names in lower case (repeated headers joined with `, `). */
  headers: Record<string, string>;
  /** The request body as UTF-8 text; `undefined` without a body (filled in once the body was read). */
  body: string | undefined;
  /** Test-clock time the call arrived, in milliseconds. */
  time: number;
  /**
   * What the endpoint did: a status (`'200'`), a failure (`'reset'`), `'hang'`
   * (still waiting) or `'passthrough'` (handed to the MockAgent); `fault:`
   * first when fault injection chose it; `'aborted'` when the mesh or the
   * caller gave up before the endpoint answered.
   */
  outcome: string | undefined;
}

/** What a test can ask of the kit for an endpoint: its clock, randomness and service-level settings. */
export interface EndpointHost {
  /** Test-clock milliseconds. */
  now(): number;
  /** The service-level faults that apply to this endpoint, if any. */
  serviceFaults(url: string): FaultSpec | undefined;
}

/** Options of {@link ScriptedEndpoint.reply} and {@link ScriptedEndpoint.replyOnce}. */
export interface ReplyInit {
  /** Response headers. */
  headers?: Record<string, string>;
  /** Test-clock milliseconds before the response. */
  delayMs?: number;
}

/** Options of {@link ScriptedEndpoint.flap}. */
export interface FlapOptions {
  /** What the endpoint does while up. Default: reply 200. */
  up?: StepInput;
  /** What it does while down. Default: `'connect-refused'`. */
  down?: StepInput;
  /** Switch after this many calls. Default 1 (up, down, up, ...). Ignored when `everyMs` is set. */
  every?: number;
  /** Switch every `everyMs` milliseconds of test time instead (up first). */
  everyMs?: number;
}

type Base =
  | { readonly kind: 'step'; readonly step: Step }
  | { readonly kind: 'flap'; readonly up: Step; readonly down: Step; readonly every: number; readonly everyMs: number | undefined; readonly since: number; calls: number }
  | { readonly kind: 'handler'; readonly fn: (call: EndpointCall) => StepInput };

/** The decision for one call. */
export interface CallPlan {
  /** What to do. */
  readonly step: Step;
  /** Total test-clock delay before doing it. */
  readonly delayMs: number;
  /** True when fault injection chose the step or added the delay. */
  readonly fault: boolean;
}

/**
 * One endpoint's script: what it answers, how late, how often it fails.
 * Get it with `t.endpoint(url)` or `t.endpoint('orders', 0)`; change it at
 * any time, later calls follow the new script. Each call takes the next
 * one-off step ({@link ScriptedEndpoint.replyOnce}, {@link ScriptedEndpoint.queue})
 * if any, else the standing behaviour ({@link ScriptedEndpoint.reply},
 * {@link ScriptedEndpoint.fail}, {@link ScriptedEndpoint.flap}, ...); then
 * the error rate, latency and faults apply. An endpoint with no script
 * hands calls to the kit's `MockAgent`, whose interceptors then answer.
 *
 * @example
 * ```ts
 * t.endpoint('orders', 0).failOnce('reset').reply(200, { id: 42 });
 * t.endpoint('orders', 1).latency([{ ms: 5, weight: 99 }, { ms: 800, weight: 1 }]).errorRate(0.01);
 * ```
 */
export class ScriptedEndpoint {
  /** The endpoint's origin. */
  readonly url: string;
  readonly #host: EndpointHost;
  readonly #random: () => number;
  readonly #calls: EndpointCall[] = [];
  #queue: Step[] = [];
  #base: Base = { kind: 'step', step: { passthrough: true } };
  #latency: LatencyModel | undefined;
  #delayMs = 0;
  #errorRate: { rate: number; failure: Step } | undefined;
  #faults: FaultSpec | undefined;

  /** @internal Made by the kit. */
  constructor(url: string, host: EndpointHost, random: () => number) {
    this.url = url;
    this.#host = host;
    this.#random = random;
  }

  /** Every call this endpoint received, oldest first (a copy). */
  get calls(): EndpointCall[] {
    return [...this.#calls];
  }

  /** Answers every call with `status` (and `body`, objects as JSON) from now on. */
  reply(status: number, body?: ReplyBody, init: ReplyInit = {}): this {
    return this.always({ status, body, ...init });
  }

  /** Answers the next call with `status`, then carries on with the script. Chain it to queue several. */
  replyOnce(status: number, body?: ReplyBody, init: ReplyInit = {}): this {
    return this.queue({ status, body, ...init });
  }

  /** Fails every call from now on, e.g. `fail('connect-refused')` or `fail('reset', { delayMs: 20 })`. */
  fail(failure: FailureKind | Error, init: { delayMs?: number } = {}): this {
    return this.always({ fail: failure, ...init });
  }

  /** Fails the next call only. */
  failOnce(failure: FailureKind | Error, init: { delayMs?: number } = {}): this {
    return this.queue({ fail: failure, ...init });
  }

  /** Never answers from now on: each call waits until the mesh aborts it (a per-try timeout, a caller's abort). */
  hang(): this {
    return this.always({ hang: true });
  }

  /** Makes `step` the standing behaviour (a status code or failure kind works as shorthand). */
  always(step: StepInput): this {
    this.#base = { kind: 'step', step: toStep(step) };
    return this;
  }

  /** Queues one-off steps used, in order, before the standing behaviour. */
  queue(...steps: StepInput[]): this {
    for (const s of steps) this.#queue.push(toStep(s));
    return this;
  }

  /** Alternates between up and down, by call count or by test time. */
  flap(options: FlapOptions = {}): this {
    const every = options.every ?? 1;
    if (!(Number.isInteger(every) && every >= 1)) throw new RangeError(`flap every must be an integer >= 1, got ${String(every)}`);
    this.#base = {
      kind: 'flap',
      up: toStep(options.up ?? 200),
      down: toStep(options.down ?? 'connect-refused'),
      every,
      everyMs: options.everyMs,
      since: this.#host.now(),
      calls: 0,
    };
    return this;
  }

  /** Decides each call with `fn` (for scripts that depend on the request: path, headers, body). */
  handle(fn: (call: EndpointCall) => StepInput): this {
    this.#base = { kind: 'handler', fn };
    return this;
  }

  /** Hands calls to the kit's `MockAgent` again (the default). */
  passthrough(): this {
    return this.always({ passthrough: true });
  }

  /** Adds `ms` of test time before every answer (on top of the step's own delay and the latency). */
  delay(ms: number): this {
    if (!(ms >= 0)) throw new RangeError(`delay must be >= 0 ms, got ${String(ms)}`);
    this.#delayMs = ms;
    return this;
  }

  /** Draws an extra delay per call from a {@link LatencyModel} (seeded); `undefined` removes it. */
  latency(model: LatencyModel | undefined): this {
    this.#latency = model;
    return this;
  }

  /** Replaces a share `rate` (0 to 1) of the standing answers by `failure` (default 503), drawn from a seeded source. */
  errorRate(rate: number, failure: StepInput = 503): this {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`errorRate needs a rate from 0 to 1, got ${String(rate)}`);
    this.#errorRate = rate === 0 ? undefined : { rate, failure: toStep(failure) };
    return this;
  }

  /** Injects faults at this endpoint (see {@link FaultSpec}); `undefined` removes them. */
  faults(spec: FaultSpec | undefined): this {
    this.#faults = spec;
    return this;
  }

  /** Forgets the script (back to passthrough, no delay, latency, error rate or faults). Keeps the call history. */
  clear(): this {
    this.#queue = [];
    this.#base = { kind: 'step', step: { passthrough: true } };
    this.#latency = undefined;
    this.#delayMs = 0;
    this.#errorRate = undefined;
    this.#faults = undefined;
    return this;
  }

  /** Forgets the call history. */
  clearCalls(): void {
    this.#calls.length = 0;
  }

  /** @internal The kit records a call. */
  record(call: EndpointCall): void {
    this.#calls.push(call);
  }

  /** @internal Decides what to do with one call. */
  plan(call: EndpointCall, decideFault: (spec: FaultSpec | undefined) => { delayMs: number; abort: Step | undefined }): CallPlan {
    const fault = decideFault(this.#faults ?? this.#host.serviceFaults(this.url));
    let step: Step;
    const queued = this.#queue.shift();
    if (queued) step = queued;
    else {
      step = this.#standing(call);
      if (this.#errorRate && this.#random() < this.#errorRate.rate) step = this.#errorRate.failure;
    }
    if (fault.abort) step = fault.abort;
    const own = 'hang' in step ? 0 : (step.delayMs ?? 0);
    const latency = this.#latency === undefined ? 0 : sampleLatency(this.#latency, this.#random);
    call.outcome = (fault.abort ? 'fault:' : '') + describeStep(step);
    return { step, delayMs: own + this.#delayMs + latency + fault.delayMs, fault: fault.abort !== undefined || fault.delayMs > 0 };
  }

  #standing(call: EndpointCall): Step {
    const base = this.#base;
    if (base.kind === 'step') return base.step;
    if (base.kind === 'handler') return toStep(base.fn(call));
    const phase = base.everyMs !== undefined ? Math.floor((this.#host.now() - base.since) / base.everyMs) : Math.floor(base.calls / base.every);
    base.calls++;
    return phase % 2 === 0 ? base.up : base.down;
  }
}
