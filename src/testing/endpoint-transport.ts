import { STATUS_CODES } from 'node:http';
import { errors, type Dispatcher, type MockAgent } from 'undici';
import type { TestClock } from './test-clock.js';
import type { FailureKind, ReplyStep, Step } from './steps.js';
import type { CallPlan, EndpointCall, ScriptedEndpoint } from './scripted-endpoint.js';
import type { FaultSpec, FaultDecision } from './faults.js';
import { UnownedDispatcher } from '../client/unowned-dispatcher.js';

type Handler = Dispatcher.DispatchHandler;

/** What a transport needs from the kit. */
export interface TransportHost {
  readonly clock: TestClock;
  readonly agent: MockAgent;
  /** Records a new call (assigns `seq` and `service`) and returns it. */
  newCall(endpoint: ScriptedEndpoint, fields: Pick<EndpointCall, 'method' | 'path' | 'headers'>): EndpointCall;
  /** Fault decision with the kit's seeded fault random source. */
  decideFault(url: string, spec: FaultSpec | undefined): FaultDecision;
}

/**
 * The undici Dispatcher the kit gives the mesh for one origin: it records
 * each call, asks the endpoint's script what to do, waits on the test clock
 * and answers, fails, hangs, or hands the call to the MockAgent. It speaks
 * undici's legacy handler API (what the mesh's transport bridge and undici
 * 7's MockAgent speak) and the v2 API.
 */
export class ScriptedTransport extends UnownedDispatcher {
  readonly #endpoint: ScriptedEndpoint;
  readonly #host: TransportHost;

  constructor(endpoint: ScriptedEndpoint, host: TransportHost) {
    super();
    this.#endpoint = endpoint;
    this.#host = host;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const call = this.#host.newCall(this.#endpoint, {
      method: String(opts.method).toUpperCase(),
      path: opts.path,
      headers: normaliseHeaders(opts.headers),
    });
    new CallRun(this.#endpoint, this.#host, opts, handler, call).start();
    return true;
  }
}

/** One call in progress: body read, plan, delay, answer; abortable throughout. */
class CallRun {
  #done = false;
  /** True once the endpoint answered (headers, failure or hand-over): an abort after that is the caller's. */
  #answered = false;
  #timer: unknown;
  #innerAbort: ((reason?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #paused = false;
  #controller: Dispatcher.DispatchController | undefined;

  constructor(
    readonly endpoint: ScriptedEndpoint,
    readonly host: TransportHost,
    readonly opts: Dispatcher.DispatchOptions,
    readonly handler: Handler,
    readonly call: EndpointCall,
  ) {}

  get legacy(): boolean {
    return typeof (this.handler as { onRequestStart?: unknown }).onRequestStart !== 'function';
  }

  start(): void {
    const abort = (reason?: Error) => this.abort(reason ?? new errors.RequestAbortedError());
    if (this.legacy) (this.handler as LegacyHandler).onConnect?.(abort, null);
    else {
      this.#controller = new Controller(this, abort);
      this.handler.onRequestStart?.(this.#controller, {});
    }
    readBody(this.opts.body).then(
      (body) => {
        if (this.#done) return;
        this.call.body = body;
        this.#go(body);
      },
      (error: unknown) => this.#error(error as Error),
    );
  }

  abort(reason: Error): void {
    if (this.#done) return;
    if (this.#timer !== undefined) this.host.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#answered) this.call.outcome = 'aborted';
    if (this.#innerAbort) {
      this.#innerAbort(reason);
      return;
    }
    this.#error(reason);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const r = this.#resume;
    this.#resume = undefined;
    r?.();
  }

  #go(body: string | undefined): void {
    const plan: CallPlan = this.endpoint.plan(this.call, (spec) => this.host.decideFault(this.endpoint.url, spec));
    const act = () => {
      this.#timer = undefined;
      if (!this.#done) this.#act(plan.step, body);
    };
    if (plan.delayMs > 0) this.#timer = this.host.clock.setTimeout(act, plan.delayMs);
    else act();
  }

  #act(step: Step, body: string | undefined): void {
    if ('hang' in step) return;
    this.#answered = true;
    if ('fail' in step) return this.#error(typeof step.fail === 'string' ? failureError(step.fail, this.endpoint.url) : step.fail);
    if ('passthrough' in step) return this.#forward(body);
    this.#reply(step);
  }

  #reply(step: ReplyStep): void {
    const { payload, headers } = encodeBody(step.body, step.headers ?? {});
    const status = step.status;
    const statusText = STATUS_CODES[status] ?? '';
    const continueWithBody = () => {
      if (this.#done) return;
      if (payload.length > 0) {
        if (this.legacy) (this.handler as LegacyHandler).onData?.(payload);
        else this.handler.onResponseData?.(this.#controller!, payload);
      }
      this.#done = true;
      if (this.legacy) (this.handler as LegacyHandler).onComplete?.([]);
      else this.handler.onResponseEnd?.(this.#controller!, {});
    };
    let goOn: boolean;
    if (this.legacy) {
      const raw: Buffer[] = [];
      for (const [k, v] of Object.entries(headers)) raw.push(Buffer.from(k), Buffer.from(v));
      goOn = (this.handler as LegacyHandler).onHeaders?.(status, raw, () => this.resume(), statusText) !== false;
    } else {
      this.handler.onResponseStart?.(this.#controller!, status, headers, statusText);
      goOn = !this.#paused;
    }
    if (this.#done) return;
    if (goOn) continueWithBody();
    else {
      this.#paused = true;
      this.#resume = continueWithBody;
    }
  }

  #forward(body: string | undefined): void {
    const forward = new Forward(this);
    try {
      this.host.agent
        .get(this.endpoint.url)
        .dispatch({ ...this.opts, body: body ?? null } as Dispatcher.DispatchOptions, forward as unknown as Handler);
    } catch (error) {
      this.#error(error as Error);
    }
  }

  /** @internal Called by Forward. */
  setInnerAbort(abort: (reason?: Error) => void): void {
    this.#innerAbort = abort;
  }

  /** @internal Called by Forward once the MockAgent finished the call. */
  finished(): void {
    this.#done = true;
  }

  #error(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (this.legacy) (this.handler as LegacyHandler).onError?.(error);
    else this.handler.onResponseError?.(this.#controller!, error);
  }
}

/** undici's legacy handler API, which MockAgent (undici 7) and the mesh's transport bridge use. */
interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context: unknown): void;
  onHeaders?(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(error: Error): void;
  onUpgrade?(statusCode: number, headers: Buffer[] | string[] | null, socket: unknown): void;
}

/** Passes the MockAgent's legacy callbacks through to the mesh, keeping the first `onConnect`. */
class Forward implements LegacyHandler {
  constructor(readonly run: CallRun) {}
  get target(): LegacyHandler {
    return this.run.handler as LegacyHandler;
  }
  onConnect(abort: (reason?: Error) => void): void {
    this.run.setInnerAbort(abort);
  }
  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    return this.target.onHeaders?.(statusCode, headers, resume, statusText) !== false;
  }
  onData(chunk: Buffer): boolean {
    return this.target.onData?.(chunk) !== false;
  }
  onComplete(trailers: string[] | null): void {
    this.run.finished();
    this.target.onComplete?.(trailers);
  }
  onError(error: Error): void {
    this.run.finished();
    this.target.onError?.(error);
  }
  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: unknown): void {
    this.run.finished();
    this.target.onUpgrade?.(statusCode, headers, socket);
  }
}

/** The stable controller of a v2 handler. */
class Controller implements Dispatcher.DispatchController {
  #aborted = false;
  #reason: Error | null = null;
  constructor(
    readonly run: CallRun,
    readonly abortFn: (reason?: Error) => void,
  ) {}
  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return false;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.abortFn(reason);
  }
  pause(): void {
    this.run.pause();
  }
  resume(): void {
    this.run.resume();
  }
}

/** The error a real transport reports for each failure kind. */
export function failureError(kind: FailureKind, origin: string): Error {
  const url = new URL(origin);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const address = url.hostname;
  switch (kind) {
    case 'connect-refused':
      return Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), {
        code: 'ECONNREFUSED',
        errno: -111,
        syscall: 'connect',
        address,
        port,
      });
    case 'connect-timeout':
      return new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${address}:${port}, timeout: 10000ms)`);
    case 'reset':
      return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
    case 'timeout':
      return new errors.HeadersTimeoutError();
    default:
      throw new TypeError(`unknown failure kind ${JSON.stringify(kind)}`);
  }
}

function encodeBody(body: ReplyStep['body'], given: Record<string, string>): { payload: Buffer; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) headers[k.toLowerCase()] = v;
  let payload: Buffer;
  if (body === undefined || body === null) payload = Buffer.alloc(0);
  else if (typeof body === 'string') payload = Buffer.from(body);
  else if (body instanceof Uint8Array) payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else {
    payload = Buffer.from(JSON.stringify(body));
    headers['content-type'] ??= 'application/json';
  }
  headers['content-length'] ??= String(payload.length);
  return { payload, headers };
}

/** Request headers as a plain object with lower-case names. */
export function normaliseHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (k: unknown, v: unknown) => {
    if (v === undefined || v === null) return;
    const name = String(k).toLowerCase();
    const value = Array.isArray(v) ? v.map(String).join(', ') : String(v);
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  };
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) for (const [k, v] of headers as [unknown, unknown][]) add(k, v);
    else for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
  } else if (headers && typeof headers === 'object') {
    const iterable = headers as { [Symbol.iterator]?: unknown };
    if (typeof iterable[Symbol.iterator] === 'function') for (const [k, v] of headers as Iterable<[unknown, unknown]>) add(k, v);
    else for (const [k, v] of Object.entries(headers)) add(k, v);
  }
  return out;
}

/** Reads a request body of any kind undici accepts into text. */
async function readBody(body: unknown): Promise<string | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function' ||
      typeof (body as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
  }
  if (typeof (body as { text?: unknown }).text === 'function') return (body as { text(): Promise<string> }).text();
  return String(body);
}
