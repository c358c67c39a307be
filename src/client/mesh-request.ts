import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { DecoratorHandler, errors, type Dispatcher } from 'undici';
import type { PickRequest } from '../balancing/balancer.js';
import type { ResolvedFaults } from '../faults/spec.js';
import { resolveRequestResilience, type ResolvedResilience, type ResolvedRetry } from '../config/resilience.js';
import { MeshConfigError, MeshError, isMeshError } from '../errors/mesh-error.js';
import { fullJitterDelay, parseRetryAfter } from '../resilience/backoff.js';
import {
  classifyError,
  isReplayable,
  methodRetriable,
  nothingSent,
  retryReasonForError,
  retryReasonForStatus,
} from '../resilience/retry-policy.js';
import { REQUEUE_LIMITS } from '../resilience/requeue.js';
import type { ServiceResilience } from '../resilience/service-resilience.js';
import type { Credentials } from '../security/auth.js';
import { checkHeaders, checkPath, prepareHeaders } from '../security/headers.js';
import type { EventBus } from '../telemetry/event-bus.js';
import type { AttemptMetricEvent, RequestMetricEvent } from '../telemetry/events.js';
import type { AttemptTarget, AttemptTrace, RequestTrace, Tracing } from '../telemetry/otel-tracing.js';
import { MESH_ATTR, targetOf } from '../telemetry/semconv.js';
import { assignOver } from '../util/assign-over.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { holdProcess, releaseProcess } from '../util/process-hold.js';
import type { EndpointState } from './endpoint-state.js';
import { getHeader } from '../util/headers.js';
import type { Destination, ServiceRuntime } from './service-runtime.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type V2Handler = Required<
  Pick<Handler, 'onRequestStart' | 'onRequestUpgrade' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>
>;

// undici's typings declare DecoratorHandler without its methods; they exist at runtime.
const Decorator = DecoratorHandler as unknown as new (handler: Handler) => V2Handler;

/** A writable copy of an event type, to build it field by field. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * undici 7's legacy handler API, which its own `request`, `stream` and
 * `fetch` still hand to dispatchers. Called directly (see `MeshRequest`),
 * never spread.
 */
interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onUpgrade?(statusCode: number, rawHeaders: Buffer[], socket: Duplex): void;
  onHeaders?(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText?: string): boolean | void;
  onData?(chunk: Buffer): boolean | void;
  onComplete?(trailers: Buffer[]): void;
  onError?(error: Error): void;
}

/** The raw header list undici's controllers keep beside the parsed object (`rawHeaders`, `rawTrailers`). */
type RawHolder = { rawHeaders?: unknown; rawTrailers?: unknown };

/** True for a handler that speaks only the legacy API (no `onRequestStart`). */
function isLegacy(handler: Handler): boolean {
  return typeof handler.onRequestStart !== 'function' && typeof (handler as LegacyHandler).onHeaders === 'function';
}

/**
 * What `DecoratorHandler` holds when the caller's handler is a legacy one:
 * `MeshRequest` then calls the caller's handler itself and never its
 * `super` methods, so undici need not allocate a WrapHandler per request.
 */
const UNUSED_V2: Handler = Object.freeze({
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
});

/** Parsed headers back to a raw `[name, value, ...]` Buffer list (what undici's WrapHandler does). */
function toRaw(headers: IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(Buffer.from(key, 'latin1'), Buffer.from(v, 'latin1'));
    else raw.push(Buffer.from(key, 'latin1'), Buffer.from(value, 'latin1'));
  }
  return raw;
}

/** What a request needs from the client that owns it. */
export interface RequestEnvironment {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly random: () => number;
  readonly tracing: Tracing;
  /**
   * The requests in flight (from `start` to their end, body included), which
   * `MeshClient.close` drains and `MeshClient.destroy` aborts.
   */
  readonly live: Set<MeshRequest>;
}

/** Where a request goes: a configured service, or straight to its origin (egress). */
export type RequestRoute =
  | {
      readonly kind: 'service';
      readonly service: ServiceRuntime;
      readonly authority: string;
      /**
       * The TLS server name undici derives from the `host` header (`authority`)
       * when a request names none: worked out once per route rather than by
       * undici per attempt (an IP address check); undefined for an IP authority.
       */
      readonly servername: string | undefined;
      /** Only TLS endpoints may serve it (an `https://` URL, or `requireTls`). */
      readonly secure: boolean;
    }
  | { readonly kind: 'egress'; readonly dispatcher: Dispatcher; readonly origin: string; readonly host: string }
  | { readonly kind: 'refused'; readonly error: MeshError; readonly host: string };

/** A retried response's body is drained (keeping the connection) up to this size, else the connection is dropped. */
const DRAIN_LIMIT = 64 * 1024;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** The body and headers of an injected abort (Envoy's fault filter answers the same text). */
const FAULT_BODY = Buffer.from('fault filter abort');
const FAULT_HEADERS = Object.freeze({ 'content-type': 'text/plain', 'content-length': String(FAULT_BODY.length), 'x-proxyless-fault': 'abort' });

/** Ids of logical requests in metric events, increasing per process. */
let nextRequestId = 1;

/**
 * One logical request through the mesh: the stable controller handed to the
 * caller's handler, and the driver of its attempts (retries with backoff and
 * budget, per-try and total deadlines, a hedge). It forwards response events
 * to the caller only for the attempt it commits to; the first response
 * headers handed over commit the request for good: never retried or hedged
 * after that. A retried response's body is drained, never forwarded.
 */
export class MeshRequest extends Decorator implements Controller, PickRequest {
  /** This request's id in metric events (see `RequestEventBase.requestId`). */
  readonly #id = nextRequestId++;
  readonly #env: RequestEnvironment;
  readonly #route: RequestRoute;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #startedAt: number;
  #headers: string[] | undefined;
  #destination: Destination | undefined;
  #attempts = 0;
  #first: EndpointState | undefined;
  #tried: Set<EndpointState> | undefined;
  /** The newest attempt. */
  #current: Attempt | undefined;
  /** An older attempt still racing the newest (hedging). */
  #other: Attempt | undefined;
  #lastEndpoint: string | undefined;
  #committed = false;
  #done = false;
  #aborted = false;
  /** The caller aborted (through the controller): outcome `cancelled`, not a failure. */
  #cancelled = false;
  #reason: Error | null = null;
  #paused = false;
  #status: number | undefined;
  // ---- resilience ----
  #res: ServiceResilience<EndpointState> | undefined;
  /** The service's policies, with this request's overrides (`opts.mesh`) applied. */
  #config: ResolvedResilience | undefined;
  #retry: ResolvedRetry | undefined;
  /** May retry after something was sent (retriable method, replayable body). */
  #retrySent = false;
  /** May retry when nothing was sent (replayable body). */
  #retryUnsent = false;
  /** May requeue a connect failure to another endpoint (replayable body; any method, retry policy or not). */
  #requeueOk = false;
  /** Requeues sent (they do not count toward `retry.attempts`). */
  #requeues = 0;
  /** May hedge (idempotent method, replayable body, hedging on). */
  #hedgeOk = false;
  #perTryMs: number | undefined;
  #deadline = Infinity;
  #deadlineTimer: TimerHandle | undefined;
  #waitTimer: TimerHandle | undefined;
  #hedgeTimer: TimerHandle | undefined;
  #lastError: Error | undefined;
  #holdsBulkhead = false;
  /** Holds the process alive (src/util/process-hold.ts) from admission to the end; its timers are unref'd. */
  #holdsProcess = false;
  #queued: (() => void) | undefined;
  #breakerPending = false;
  #trace: RequestTrace | undefined;
  /**
   * The caller's handler when it speaks only undici's legacy API (undici 7's
   * `request` and `fetch`): called directly with the raw headers undici
   * already holds, rather than through `DecoratorHandler`'s WrapHandler, which
   * would turn the parsed headers back into Buffers for the handler to parse
   * again. v2 handlers go through `DecoratorHandler` (`super`).
   */
  readonly #legacy: LegacyHandler | undefined;

  constructor(env: RequestEnvironment, route: RequestRoute, opts: Dispatcher.DispatchOptions, handler: Handler) {
    const legacy = isLegacy(handler);
    super(legacy ? UNUSED_V2 : handler);
    this.#env = env;
    this.#route = route;
    this.#opts = opts;
    this.#startedAt = env.clock.now();
    if (legacy) this.#legacy = handler as LegacyHandler;
  }

  // ---- PickRequest (what balancers may read) ----

  get method(): string {
    return this.#opts.method;
  }
  get path(): string {
    return this.#opts.path;
  }
  header(name: string): string | undefined {
    return getHeader(this.#opts.headers, name);
  }

  // ---- DispatchController (what the caller's handler holds) ----

  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }

  /**
   * The caller gives up (an `AbortSignal`, a destroyed or cancelled body,
   * `controller.abort()`): outcome `cancelled`, which feeds no breaker,
   * detector, balancer failure or budget.
   */
  abort(reason: Error): void {
    if (this.#aborted || this.#done) return;
    this.#cancelled = true;
    this.#abort(reason);
  }

  /**
   * Ends the request on the mesh's side (`MeshClient.close` past its drain
   * time, `MeshClient.destroy`): like a caller's abort, except that the
   * caller sees `error` (`MESH_CLOSED`). Feeds no breaker or detector.
   * @internal
   */
  shutdown(error: MeshError): void {
    this.#abort(error);
  }

  #abort(reason: Error): void {
    if (this.#aborted || this.#done) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#clearTimers();
    const attempt = this.#current;
    if (this.#committed && attempt?.controller) {
      // The body is streaming: abort the attempt; its error event finishes us.
      attempt.controller.abort(reason);
      return;
    }
    if (attempt) this.#discard(attempt, reason);
    if (this.#other) this.#discard(this.#other, reason);
    this.#fail(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#current?.controller?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#current?.controller?.resume();
  }

  // ---- driving ----

  /** Hands the caller its controller, then admits the request and sends the first attempt. */
  start(): void {
    this.#env.live.add(this);
    const legacy = this.#legacy;
    if (legacy === undefined) super.onRequestStart(this, {});
    else legacy.onConnect?.((reason) => this.abort(reason as Error), {});
    if (this.#done || this.#aborted) return;
    const route = this.#route;
    this.#trace = this.#env.tracing.start(this.#opts.method, this.#serviceName(), route.kind === 'egress');
    if (route.kind === 'refused') {
      this.#fail(route.error);
      return;
    }
    // Header hygiene: the path cannot leave the service or origin, headers are
    // valid (no CR/LF/NUL), and the Host is the service's (src/security/headers.ts).
    const invalid = checkPath(this.#opts.path, this.#serviceName());
    if (invalid) {
      this.#fail(invalid);
      return;
    }
    if (route.kind === 'service') {
      const auth = route.service.security?.auth;
      const credentials = auth?.current();
      if (auth !== undefined && credentials === undefined) {
        // Nothing valid cached: wait for the credential hook, then go on.
        auth.load().then(
          (c) => this.#startService(route, c),
          (error: unknown) => this.#fail(error instanceof Error ? error : new Error(String(error))),
        );
        return;
      }
      this.#startService(route, credentials);
      return;
    }
    const bad = checkHeaders(this.#opts.headers, route.host);
    if (bad) {
      this.#fail(bad);
      return;
    }
    this.#send();
  }

  #startService(route: Extract<RequestRoute, { kind: 'service' }>, credentials: Credentials | undefined): void {
    if (this.#done || this.#aborted) return;
    const headers = prepareHeaders(this.#opts.headers, route.authority, route.service.name, credentials);
    if (headers instanceof MeshError) {
      this.#fail(headers);
      return;
    }
    this.#headers = headers;
    const destination = (this.#destination = route.service.destination(this));
    this.#trace?.route(destination?.route, destination?.name);
    if (destination?.faults !== undefined && this.#injectFault(destination.faults, route)) return;
    this.#admit(route);
  }

  /**
   * Fault injection (Istio's, applied before sending): two independent draws
   * from the mesh's `random`, delay first, then abort. Returns true when it
   * took over the request (a delay or an abort).
   */
  #injectFault(faults: ResolvedFaults, route: Extract<RequestRoute, { kind: 'service' }>): boolean {
    const random = this.#env.random;
    const delay = faults.delay !== undefined && random() * 100 < faults.delay.percent ? faults.delay.ms : -1;
    const abort = faults.abort !== undefined && random() * 100 < faults.abort.percent ? faults.abort : undefined;
    if (delay < 0 && abort === undefined) return false;
    this.#trace?.set(MESH_ATTR.FAULT, delay < 0 ? 'abort' : abort === undefined ? 'delay' : 'delay,abort');
    if (delay < 0) {
      this.#abortFault(abort!);
      return true;
    }
    this.#waitTimer = this.#env.clock.setTimeout(() => {
      this.#waitTimer = undefined;
      if (this.#done || this.#aborted) return;
      if (abort !== undefined) this.#abortFault(abort);
      else this.#admit(route);
    }, delay, true);
    return true;
  }

  /** An injected abort: a synthetic response or a failure; the network is not touched. */
  #abortFault(abort: NonNullable<ResolvedFaults['abort']>): void {
    const service = this.#serviceName();
    if (abort.status === undefined) {
      const kind = abort.error!;
      const timeout = kind === 'timeout' || kind === 'connect-timeout';
      const cause = Object.assign(new Error(`fault injected: ${kind}`), {
        code: timeout ? 'UND_ERR_HEADERS_TIMEOUT' : kind === 'reset' ? 'ECONNRESET' : 'ECONNREFUSED',
      });
      this.#fail(
        new MeshError(timeout ? 'MESH_TIMEOUT' : 'MESH_UPSTREAM_FAILURE', `request to ${service} aborted by fault injection (${kind})`, {
          cause,
          service,
          attempts: 0,
        }),
      );
      return;
    }
    this.#status = abort.status;
    this.#committed = true;
    this.#toResponseStart(abort.status, { ...FAULT_HEADERS }, undefined, '');
    if (this.#done) return;
    this.attemptData(FAULT_BODY);
    if (this.#done) return;
    this.#done = true;
    this.#toResponseEnd({}, undefined);
    this.#report(undefined);
  }

  /** After routing (and any injected delay): deadlines, bulkhead, then the first attempt. */
  #admit(route: Extract<RequestRoute, { kind: 'service' }>): void {
    const res = route.service.resilience!;
    this.#res = res;
    let config = route.service.config.resilience;
    const override = (this.#opts as { mesh?: unknown }).mesh;
    if (override !== undefined) {
      const resolved = resolveRequestResilience(override, config);
      if (Array.isArray(resolved)) {
        this.#fail(new MeshConfigError(resolved));
        return;
      }
      config = resolved;
    }
    this.#config = config;
    // From here to #finish the request holds the process alive, as a pending fetch would; so its own
    // timers (deadlines, backoff, hedge) need not, and are unref'd (cheaper: see src/util/process-hold.ts).
    holdProcess();
    this.#holdsProcess = true;
    const timeout = config.timeout;
    if (timeout) {
      // The deadline runs from here: time waiting in the bulkhead queue counts.
      this.#perTryMs = timeout.perTryMs;
      if (timeout.totalMs !== undefined) {
        this.#deadline = this.#startedAt + timeout.totalMs;
        this.#deadlineTimer = this.#env.clock.setTimeout(() => this.#deadlineExpired(timeout.totalMs!), timeout.totalMs);
      }
    }
    const bulkhead = res.bulkhead;
    if (bulkhead) {
      // Made in a local first: see "Closures on the request path" in #toResponseStart.
      const resume = () => {
        this.#queued = undefined;
        this.#holdsBulkhead = true;
        if (this.#done) this.#finish();
        else this.#begin(route.service);
      };
      this.#queued = resume;
      const admitted = bulkhead.enter(resume);
      if (admitted === 'queued') return;
      this.#queued = undefined;
      if (admitted === 'rejected') {
        this.#reject(
          new MeshError(
            'MESH_BULKHEAD_REJECTED',
            `service "${route.service.name}" has ${bulkhead.maxConcurrent} requests in flight and ${bulkhead.pending} waiting (its bulkhead limits)`,
            { service: route.service.name, attempts: 0 },
          ),
        );
        return;
      }
      this.#holdsBulkhead = true;
    }
    this.#begin(route.service);
  }

  /** Starts a service request that holds its bulkhead slot (if any). */
  #begin(service: ServiceRuntime): void {
    const res = service.resilience!;
    const config = this.#config!;
    const breaker = res.serviceBreaker;
    if (breaker) {
      if (!breaker.tryAcquire()) {
        this.#reject(
          new MeshError('MESH_CIRCUIT_OPEN', `the circuit breaker of service "${service.name}" is ${breaker.state}`, {
            service: service.name,
            attempts: 0,
          }),
        );
        return;
      }
      this.#breakerPending = true;
    }
    const method = this.#opts.method;
    const replayable = isReplayable(this.#opts.body) && !this.#opts.upgrade;
    const retry = config.retry;
    if (retry && retry.attempts > 1) {
      this.#retry = retry;
      this.#retryUnsent = replayable;
      this.#retrySent = replayable && methodRetriable(retry, method);
    }
    if (config.hedge) this.#hedgeOk = replayable && (retry ? methodRetriable(retry, method) : IDEMPOTENT.has(method));
    this.#requeueOk = replayable;
    res.budget?.deposit();
    res.requeues.deposit();
    this.#send();
  }

  #send(): void {
    const route = this.#route;
    if (route.kind === 'refused' || this.#done) return;
    const index = this.#attempts++;
    let body = this.#opts.body;
    if (typeof body === 'function') body = (body as () => Dispatcher.DispatchOptions['body'])();
    if (route.kind === 'egress') {
      const attempt = new Attempt(this, undefined, index, this.#env.clock.now());
      this.#current = attempt;
      const opts = body === this.#opts.body ? this.#opts : assignOver(this.#opts, { body });
      if (this.#trace === undefined) route.dispatcher.dispatch(opts, attempt);
      else this.#sendTraced(this.#trace, attempt, route.dispatcher, { ...opts }, { target: targetOf(route.origin) });
      return;
    }
    const service = route.service;
    let tried = this.#tried;
    if (index > 0 && this.#first !== undefined && tried === undefined) tried = this.#tried = new Set([this.#first]);
    const destination = this.#destination;
    const endpoint = destination?.picker.pick({ request: this, tried });
    if (endpoint === undefined) {
      this.#attempts--;
      const what = destination ? `"${destination.name}"` : `the route's destination`;
      this.#fail(
        this.#lastError ??
          new MeshError('MESH_NO_HEALTHY_ENDPOINT', `${what} of service "${service.name}" has no endpoint that can be picked`, {
            service: service.name,
            attempts: index,
          }),
      );
      return;
    }
    if (route.secure && endpoint.protocol !== 'https:') {
      this.#attempts--;
      this.#fail(
        new MeshError('MESH_TLS_REQUIRED', `service "${service.name}" requires TLS but endpoint ${endpoint.url} is plaintext`, {
          service: service.name,
          endpoint: endpoint.url,
          attempts: index,
        }),
      );
      return;
    }
    if (index === 0) this.#first = endpoint;
    else tried!.add(endpoint);
    endpoint.inflight++;
    endpoint.attempts++;
    const attempt = new Attempt(this, endpoint, index, this.#env.clock.now());
    if (this.#current?.state === 'pending') this.#other = this.#current;
    this.#current = attempt;
    const res = this.#res!;
    if (res.watching) res.attemptSent(endpoint);
    if (this.#perTryMs !== undefined) {
      const ms = this.#perTryMs;
      attempt.timer = this.#env.clock.setTimeout(() => this.#perTryExpired(attempt, ms), ms);
    }
    if (index === 0 && this.#hedgeOk) this.#armHedge(service);
    // `servername` is what undici would derive from the Host header (route.servername), unless the caller set one.
    // Not `{ ...this.#opts, origin, ... }`: slow to make and to read on Node 20 (src/util/assign-over.ts).
    const servername = (this.#opts as { servername?: string | null }).servername || route.servername;
    const opts = assignOver(this.#opts, { origin: endpoint.url, headers: this.#headers, body, servername });
    if (this.#trace === undefined) endpoint.pool().dispatch(opts, attempt);
    else {
      const policy = service.config.loadBalancer.policy;
      const candidates = destination!.picker.endpoints.length;
      const to = { target: targetOf(endpoint.url), endpoint: endpoint.url, policy, candidates };
      this.#sendTraced(this.#trace, attempt, endpoint.pool(), opts, to);
    }
  }

  /** Sends an attempt under its CLIENT span, the trace context set in its headers. */
  #sendTraced(
    trace: RequestTrace,
    attempt: Attempt,
    dispatcher: Dispatcher,
    opts: Dispatcher.DispatchOptions,
    to: AttemptTarget,
  ): void {
    const t = trace.attempt(attempt.index, to, opts.method, opts.path, opts.headers);
    attempt.trace = t;
    opts.headers = t.headers;
    t.dispatch(dispatcher, opts, attempt);
  }

  // ---- attempt callbacks (called by Attempt only) ----

  /** @internal */
  attemptStarted(attempt: Attempt, controller: Controller): void {
    if (attempt.state !== 'pending') {
      // Given up while queued for a connection (per-try deadline, cancel, hedge lost) and now handed one.
      const reason = attempt.timedOut ?? this.#reason ?? new Error('attempt discarded');
      // On the endpoint's own undici Pool, throwing here drops the request before anything is written
      // and keeps the connection for the next one (client-h1's writeH1 catches a throwing onConnect,
      // errors the request and moves on); `controller.abort()` would destroy the socket. Any other
      // dispatcher (a `transport`) gets the abort.
      if (attempt.endpoint?.pooled === true) throw reason;
      controller.abort(reason);
      return;
    }
    if (attempt.timer !== undefined) attempt.sentAt = this.#env.clock.now();
    if (this.#paused) controller.pause();
  }

  /** @internal */
  attemptUpgrade(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (attempt.state !== 'pending') return;
    this.#settle(attempt, statusCode, undefined);
    this.#commit(attempt, statusCode);
    this.#done = true;
    this.#finish();
    if (this.#legacy === undefined) super.onRequestUpgrade(this, statusCode, headers, socket);
    else this.#legacy.onUpgrade?.(statusCode, rawOf(attempt.controller, 'rawHeaders') ?? toRaw(headers), socket);
    this.#report(undefined);
  }

  /** @internal */
  attemptHeaders(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (attempt.state !== 'pending') return;
    this.#settle(attempt, statusCode, undefined);
    const retry = this.#retry;
    if (retry !== undefined && statusCode >= 400) {
      const reason = retryReasonForStatus(retry, statusCode);
      if (reason !== undefined && !this.#retrySent) this.#refused(this.#sentRefusal());
      else if (reason !== undefined) {
        if (this.#otherPending(attempt)) {
          // A hedge partner is still racing: let it answer instead.
          this.#drain(attempt, headers);
          return;
        }
        const delay = this.#retryDelay(statusCode, headers);
        const refusal = delay === undefined ? 'retry-after' : this.#mayRetry(delay);
        if (refusal === undefined) {
          this.#drain(attempt, headers);
          this.#schedule(reason, delay!);
          return;
        }
        this.#refused(refusal);
      }
    }
    this.#commit(attempt, statusCode);
    this.#toResponseStart(statusCode, headers, attempt.controller, statusMessage);
  }

  /** @internal */
  attemptData(chunk: Buffer): void {
    const legacy = this.#legacy;
    if (legacy === undefined) super.onResponseData(this, chunk);
    else if (legacy.onData?.(chunk) === false) this.pause();
  }

  #toResponseStart(statusCode: number, headers: IncomingHttpHeaders, controller: Controller | undefined, statusMessage?: string): void {
    const legacy = this.#legacy;
    if (legacy === undefined) {
      super.onResponseStart(this, statusCode, headers, statusMessage);
      return;
    }
    const raw = rawOf(controller, 'rawHeaders') ?? toRaw(headers);
    // Closures on the request path: never write a function literal straight
    // into a property (`this.#f = () => ...`). V8's parser takes that for a
    // method being installed and allocates such closures in old space. The
    // old closure then keeps this request's young objects (through `this`)
    // alive across scavenges; their allocation sites, undici's among them,
    // see 100% survival and get pretenured for the life of the process, and
    // every request after that is promoted instead of dying young: four
    // times the scavenge cost and about +9 us of CPU per request over
    // sockets (docs/benchmarks.md, "Pretenuring"). A closure made into a
    // local, as here, is allocated young. It is needed once per request.
    const resume = () => this.resume();
    if (legacy.onHeaders?.(statusCode, raw, resume, statusMessage) === false) this.pause();
  }

  #toResponseEnd(trailers: IncomingHttpHeaders, controller: Controller | undefined): void {
    const legacy = this.#legacy;
    if (legacy === undefined) super.onResponseEnd(this, trailers);
    else legacy.onComplete?.(rawOf(controller, 'rawTrailers') ?? toRaw(trailers));
  }

  /** @internal */
  attemptEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    this.#release(attempt);
    if (attempt.state !== 'committed' || this.#done) return;
    attempt.state = 'done';
    this.#done = true;
    this.#finish();
    this.#toResponseEnd(trailers, attempt.controller);
    this.#report(undefined);
  }

  /** @internal */
  attemptError(attempt: Attempt, error: Error): void {
    this.#release(attempt);
    const state = attempt.state;
    if (state === 'discarded' || state === 'done' || state === 'draining') return;
    attempt.state = 'done';
    if (state === 'committed') {
      this.#fail(this.#aborted ? (this.#reason ?? error) : this.#upstreamError(error, attempt, true));
      return;
    }
    this.#clearTry(attempt);
    if (this.#aborted) {
      this.#fail(this.#reason ?? error);
      return;
    }
    const cause = attempt.timedOut ?? error;
    const kind = classifyError(cause);
    // Queued for a connection until the per-try deadline: the endpoint never saw it.
    this.#settle(attempt, undefined, cause, attempt.sentAt < 0 && isMeshError(cause, 'MESH_POOL_TIMEOUT'));
    const failure = attempt.timedOut ?? this.#upstreamError(error, attempt, false);
    this.#lastError = failure;
    this.#forget(attempt);
    if (this.#current?.state === 'pending') return; // the hedge partner may still answer
    if (nothingSent(kind) && attempt.endpoint !== undefined && this.#mayRequeue()) {
      this.#schedule('requeue', 0);
      return;
    }
    const retry = this.#retry;
    const reason = retry === undefined ? undefined : retryReasonForError(retry, kind);
    if (reason !== undefined) {
      if (!(nothingSent(kind) ? this.#retryUnsent : this.#retrySent)) this.#refused(this.#sentRefusal());
      else {
        const delay = this.#backoff();
        const refusal = this.#mayRetry(delay);
        if (refusal === undefined) {
          this.#schedule(reason, delay);
          return;
        }
        this.#refused(refusal);
      }
    }
    this.#fail(failure);
  }

  // ---- resilience internals ----

  #commit(attempt: Attempt, statusCode: number): void {
    this.#clearTry(attempt);
    if (this.#hedgeTimer !== undefined) this.#env.clock.clearTimeout(this.#hedgeTimer);
    this.#hedgeTimer = undefined;
    const other = attempt === this.#current ? this.#other : this.#current;
    if (other !== undefined && other !== attempt) this.#discard(other, new Error('a hedged attempt answered first'));
    this.#current = attempt;
    this.#other = undefined;
    this.#committed = true;
    attempt.state = 'committed';
    this.#status = statusCode;
    const breaker = this.#res?.serviceBreaker;
    if (breaker && this.#breakerPending) {
      this.#breakerPending = false;
      if (statusCode >= 500 && breaker.settings.count5xx) breaker.failure();
      else breaker.success();
    }
  }

  /** True when an attempt other than `attempt` is still waiting for its response. */
  #otherPending(attempt: Attempt): boolean {
    const other = attempt === this.#current ? this.#other : this.#current;
    return other !== undefined && other !== attempt && other.state === 'pending';
  }

  /** Throws away a response that will be retried: its body is read and dropped (or the connection cut if large). */
  #drain(attempt: Attempt, headers: IncomingHttpHeaders): void {
    this.#clearTry(attempt);
    attempt.state = 'draining';
    this.#forget(attempt);
    const length = Number(headers['content-length']);
    if (length > DRAIN_LIMIT || this.#opts.method === 'CONNECT') attempt.controller?.abort(new Error('retried response dropped'));
    else attempt.controller?.resume();
  }

  #forget(attempt: Attempt): void {
    if (this.#current === attempt) {
      this.#current = this.#other;
      this.#other = undefined;
    } else if (this.#other === attempt) this.#other = undefined;
  }

  /** The delay before the next retry: `Retry-After` when present (undefined if above the cap), else backoff. */
  #retryDelay(statusCode: number, headers: IncomingHttpHeaders): number | undefined {
    if (statusCode === 503 || statusCode === 429) {
      const after = parseRetryAfter(headers['retry-after'], this.#env.clock.wallNow());
      if (after !== undefined) return after > this.#retry!.retryAfterMaxMs ? undefined : after;
    }
    return this.#backoff();
  }

  #backoff(): number {
    const b = this.#retry!.backoff;
    return b ? fullJitterDelay(b.baseMs, b.maxMs, this.#attempts - 1, this.#env.random) : 0;
  }

  /**
   * Attempts left, time left, and a retry from the budget (the budget is asked
   * last). Returns why a retry may not be sent, or undefined when it may.
   */
  #mayRetry(delay: number): string | undefined {
    if (this.#aborted || this.#done) return 'cancelled';
    if (this.#attempts - this.#requeues >= this.#retry!.attempts) return 'attempts';
    if (this.#env.clock.now() + delay >= this.#deadline) return 'deadline';
    const budget = this.#res?.budget;
    if (budget && !budget.tryWithdraw()) {
      this.#budgetExhausted();
      return 'budget';
    }
    return undefined;
  }

  /**
   * A requeue (src/resilience/requeue.ts) of an attempt that sent nothing: a
   * replayable body, under the per-request cap, an endpoint left untried,
   * before the deadline, and one from the service's requeue budget (never the
   * retry budget).
   */
  #mayRequeue(): boolean {
    if (!this.#requeueOk || this.#aborted || this.#done || this.#requeues >= REQUEUE_LIMITS.maxPerRequest) return false;
    // Only to an endpoint not tried yet: with none left, a requeue would hit one that just refused.
    const picker = this.#destination?.picker;
    const tried = this.#tried ?? (this.#first === undefined ? undefined : new Set([this.#first]));
    if (picker === undefined || tried === undefined || !picker.hasUntried(tried)) return false;
    if (this.#env.clock.now() >= this.#deadline || !this.#res!.requeues.tryWithdraw()) return false;
    this.#requeues++;
    return true;
  }

  /** Why a request that was (maybe) sent may not be retried: its body, or its method. */
  #sentRefusal(): string {
    return isReplayable(this.#opts.body) ? 'non-idempotent' : 'body-not-replayable';
  }

  /** A retry condition matched but the retry is not sent: say why (metric event and span event). */
  #refused(reason: string): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      bus.metric({
        type: 'retry-refused',
        requestId: this.#id,
        service: this.#serviceName(),
        time: this.#env.clock.wallNow(),
        reason,
        attempt: this.#attempts,
      });
    }
  }

  #schedule(reason: string, delayMs: number): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      bus.metric({
        type: 'retry',
        requestId: this.#id,
        service: this.#serviceName(),
        time: this.#env.clock.wallNow(),
        reason,
        delayMs,
        attempt: this.#attempts,
      });
    }
    if (delayMs <= 0) {
      // No backoff: send on the next microtask (outside the failed attempt's callback), no timer.
      queueMicrotask(() => {
        if (!this.#done) this.#send();
      });
      return;
    }
    this.#waitTimer = this.#env.clock.setTimeout(() => {
      this.#waitTimer = undefined;
      if (!this.#done) this.#send();
    }, delayMs);
  }

  #armHedge(service: ServiceRuntime): void {
    const hedge = this.#config!.hedge!;
    const delay = hedge.delayMs ?? this.#res!.latency?.value();
    if (delay === undefined) return;
    this.#hedgeTimer = this.#env.clock.setTimeout(() => {
      this.#hedgeTimer = undefined;
      const first = this.#current;
      if (this.#done || this.#committed || first?.state !== 'pending' || this.#other !== undefined) return;
      if (this.#retry && this.#attempts >= this.#retry.attempts) return;
      if (service.usable.length < 2) return;
      const budget = this.#res!.budget;
      if (budget && !budget.tryWithdraw()) {
        this.#budgetExhausted();
        return;
      }
      this.#send();
      const bus = this.#env.bus;
      if (bus.wantsMetrics && this.#current !== first) {
        bus.metric({
          type: 'hedge',
          requestId: this.#id,
          service: service.name,
          time: this.#env.clock.wallNow(),
          ...(this.#current?.endpoint ? { endpoint: this.#current.endpoint.url } : {}),
        });
      }
    }, delay);
  }

  #budgetExhausted(): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      bus.metric({ type: 'retry-budget-exhausted', requestId: this.#id, service: this.#serviceName(), time: this.#env.clock.wallNow() });
    }
  }

  /**
   * The per-try timer fired. It was armed at dispatch, but per-try time runs
   * from the moment the attempt is written on a connection (Envoy starts
   * `per_try_timeout` when the pool hands over a connection), so: still
   * queued for a connection → `MESH_POOL_TIMEOUT` (not the endpoint's
   * fault); sent later than dispatched → re-armed for the time it has left
   * (one timer per attempt on the common path); else `MESH_TIMEOUT`.
   */
  #perTryExpired(attempt: Attempt, ms: number): void {
    attempt.timer = undefined;
    if (attempt.state !== 'pending') return;
    const where = attempt.endpoint?.url;
    // Only the mesh's own pools are known to call onRequestStart at the write (undici's client-h1 does);
    // a `transport` dispatcher may call it at any time, or never: its tries keep the plain deadline.
    if (attempt.sentAt < 0 && attempt.endpoint?.pooled === true) {
      attempt.timedOut = new MeshError(
        'MESH_POOL_TIMEOUT',
        `try ${attempt.index + 1} to ${this.#serviceName()} (${where}) waited ${ms} ms (timeout.perTryMs) for a free connection of the endpoint's pool and was not sent`,
        { service: this.#serviceName(), endpoint: where, attempts: this.#attempts },
      );
      this.attemptError(attempt, attempt.timedOut);
      return;
    }
    const left = attempt.sentAt + ms - this.#env.clock.now();
    if (left >= 1) {
      attempt.timer = this.#env.clock.setTimeout(() => this.#perTryExpired(attempt, ms), left);
      return;
    }
    attempt.timedOut = new MeshError(
      'MESH_TIMEOUT',
      `try ${attempt.index + 1} to ${this.#serviceName()} (${where}) got no response within ${ms} ms (timeout.perTryMs)`,
      { service: this.#serviceName(), endpoint: where, attempts: this.#attempts },
    );
    attempt.controller?.abort(attempt.timedOut);
    if (attempt.state === 'pending') this.attemptError(attempt, attempt.timedOut);
  }

  #deadlineExpired(totalMs: number): void {
    this.#deadlineTimer = undefined;
    if (this.#done) return;
    this.#abort(
      new MeshError('MESH_TIMEOUT', `request to ${this.#serviceName()} exceeded its deadline of ${totalMs} ms (timeout.totalMs)`, {
        service: this.#serviceName(),
        endpoint: this.#current?.endpoint?.url ?? this.#lastEndpoint,
        attempts: this.#attempts,
      }),
    );
  }

  #clearTry(attempt: Attempt): void {
    if (attempt.timer !== undefined) this.#env.clock.clearTimeout(attempt.timer);
    attempt.timer = undefined;
  }

  #clearTimers(): void {
    const clock = this.#env.clock;
    if (this.#deadlineTimer !== undefined) clock.clearTimeout(this.#deadlineTimer);
    if (this.#waitTimer !== undefined) clock.clearTimeout(this.#waitTimer);
    if (this.#hedgeTimer !== undefined) clock.clearTimeout(this.#hedgeTimer);
    this.#deadlineTimer = this.#waitTimer = this.#hedgeTimer = undefined;
    if (this.#current) this.#clearTry(this.#current);
    if (this.#other) this.#clearTry(this.#other);
    // Its timers are gone: the request no longer holds the process (an aborted one need not wait for its transport).
    if (this.#holdsProcess) {
      this.#holdsProcess = false;
      releaseProcess();
    }
  }

  /** The request is over: timers stop, the bulkhead slot and breaker probe are given back. */
  #finish(): void {
    this.#clearTimers();
    const res = this.#res;
    if (!res) return;
    if (this.#queued) {
      res.bulkhead?.leave(this.#queued);
      this.#queued = undefined;
    }
    if (this.#holdsBulkhead) {
      this.#holdsBulkhead = false;
      res.bulkhead?.release();
    }
    const breaker = res.serviceBreaker;
    if (breaker && this.#breakerPending) {
      this.#breakerPending = false;
      // A cancel, a shutdown or a wait for a pooled connection says nothing about the service.
      if (this.#aborted ? !isMeshError(this.#reason, 'MESH_TIMEOUT') : isMeshError(this.#lastError, 'MESH_POOL_TIMEOUT')) breaker.cancel();
      else breaker.failure();
    }
  }

  /** Refused before any attempt: a `rejected` metric event, then the error. */
  #reject(error: MeshError): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      bus.metric({ type: 'rejected', requestId: this.#id, service: this.#serviceName(), time: this.#env.clock.wallNow(), reason: error.code });
    }
    this.#fail(error);
  }

  // ---- internals ----

  /**
   * Accounts for the end of an attempt's waiting phase (headers or failure).
   * A `blameless` failure (queued for a connection until the per-try
   * deadline) is reported in events and spans but feeds nothing that judges
   * the endpoint: failure count, balancer, breaker, outlier detection, latency.
   */
  #settle(attempt: Attempt, status: number | undefined, error: Error | undefined, blameless = false): void {
    attempt.trace?.end(status, error, false);
    const durationMs = this.#env.clock.now() - attempt.startedAt;
    const endpoint = attempt.endpoint;
    const ok = error === undefined && (status === undefined || status < 500);
    if (endpoint && blameless) {
      this.#lastEndpoint = endpoint.url;
      if (this.#res?.watching) this.#res.attemptCancelled(endpoint);
    } else if (endpoint) {
      this.#lastEndpoint = endpoint.url;
      if (!ok) endpoint.failures++;
      this.#destination?.picker.report(endpoint, { durationMs, ok });
      if (this.#route.kind === 'service') {
        const res = this.#res!;
        if (res.watching) res.attemptDone(endpoint, status, error !== undefined && nothingSent(classifyError(error)));
        if (status !== undefined) res.latency?.record(durationMs);
      }
    }
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      // Optional fields are set only when present (an observer sees no `status: undefined`), without spreads.
      const event: Mutable<AttemptMetricEvent> = {
        type: 'attempt',
        requestId: this.#id,
        service: this.#serviceName(),
        time: this.#env.clock.wallNow(),
        endpoint: endpoint?.url ?? this.#originOf(),
        method: this.#opts.method,
        durationMs,
        attempt: attempt.index,
      };
      if (status !== undefined) event.status = status;
      if (error !== undefined) event.error = errorCode(error);
      bus.metric(event);
    }
  }

  /** The attempt no longer occupies its endpoint. */
  #release(attempt: Attempt): void {
    if (attempt.released) return;
    attempt.released = true;
    if (attempt.endpoint) attempt.endpoint.inflight--;
  }

  #discard(attempt: Attempt, reason: Error): void {
    if (attempt.state === 'discarded' || attempt.state === 'done' || attempt.state === 'draining') return;
    const wasPending = attempt.state === 'pending';
    attempt.state = 'discarded';
    this.#clearTry(attempt);
    attempt.trace?.end(undefined, reason, true);
    this.#release(attempt);
    attempt.controller?.abort(reason);
    if (wasPending && attempt.endpoint && this.#res?.watching) this.#res.attemptCancelled(attempt.endpoint);
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#finish();
    const legacy = this.#legacy;
    if (legacy === undefined) super.onResponseError(this, error);
    else if (typeof legacy.onError === 'function') legacy.onError(error);
    else throw new errors.InvalidArgumentError('invalid onError method');
    this.#report(error);
  }

  #upstreamError(error: Error, attempt: Attempt, committed: boolean): MeshError {
    const service = this.#serviceName();
    const where = attempt.endpoint?.url ?? this.#originOf();
    const phase = committed ? 'while streaming the response body' : 'before a response arrived';
    if (isMeshError(error, 'MESH_PEER_IDENTITY')) {
      return new MeshError('MESH_PEER_IDENTITY', error.message, { cause: error, service, endpoint: where, attempts: this.#attempts });
    }
    const code = (error as { code?: unknown }).code;
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      return new MeshError('MESH_INVALID_REQUEST', `request to ${service} refused by undici: ${error.message}`, {
        cause: error,
        service,
        attempts: this.#attempts,
      });
    }
    return new MeshError('MESH_UPSTREAM_FAILURE', `request to ${service} (${where}) failed ${phase}: ${error.message}`, {
      cause: error,
      service,
      endpoint: where,
      attempts: this.#attempts,
    });
  }

  #report(error: Error | undefined): void {
    this.#env.live.delete(this);
    const cancelled = this.#cancelled;
    this.#trace?.end(this.#status, error, this.#attempts, cancelled);
    const bus = this.#env.bus;
    if (!bus.wantsMetrics) return;
    const endpoint =
      this.#current?.endpoint?.url ?? this.#lastEndpoint ?? (this.#route.kind === 'egress' ? this.#originOf() : undefined);
    const event: Mutable<RequestMetricEvent> = {
      type: 'request',
      requestId: this.#id,
      service: this.#serviceName(),
      time: this.#env.clock.wallNow(),
      method: this.#opts.method,
      outcome: 'success',
      durationMs: this.#env.clock.now() - this.#startedAt,
      attempts: this.#attempts,
    };
    if (endpoint !== undefined) event.endpoint = endpoint;
    if (this.#status !== undefined) event.status = this.#status;
    if (cancelled) event.outcome = 'cancelled';
    else if (error !== undefined) {
      event.outcome = 'failure';
      event.error = errorCode(error);
    } else if (this.#status !== undefined && this.#status >= 500) event.outcome = 'server_error';
    if (this.#route.kind === 'egress') event.egress = true;
    bus.metric(event);
  }

  #serviceName(): string {
    const route = this.#route;
    return route.kind === 'service' ? route.service.name : route.host;
  }

  #originOf(): string {
    return this.#route.kind === 'egress' ? this.#route.origin : '';
  }
}

/** The raw header list a controller holds (undici's own controllers and the transport bridge keep one), if any. */
function rawOf(controller: Controller | undefined, key: 'rawHeaders' | 'rawTrailers'): Buffer[] | undefined {
  const raw = (controller as RawHolder | undefined)?.[key];
  return Array.isArray(raw) ? (raw as Buffer[]) : undefined;
}

/** A short, stable name for an error in events: its `code`, else its `name`. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'Error';
}

/**
 * One try of a request against one endpoint: a v2 dispatch handler that
 * reports to its {@link MeshRequest}. A class with prototype methods, never a
 * spread object (undici checks for the methods).
 */
class Attempt implements Handler {
  controller: Controller | undefined;
  state: 'pending' | 'committed' | 'draining' | 'discarded' | 'done' = 'pending';
  released = false;
  /** The per-try timer, while one runs. */
  timer: TimerHandle | undefined;
  /** Set when the per-try deadline expired: the error the attempt failed with. */
  timedOut: MeshError | undefined;
  /**
   * When the attempt got a connection and began to be written (undici calls
   * `onRequestStart` then, not at dispatch: before that it waits in the
   * pool's queue); -1 while queued. Per-try time runs from here.
   */
  sentAt = -1;
  /** The attempt's CLIENT span, when tracing records. */
  trace: AttemptTrace | undefined = undefined;

  constructor(
    readonly request: MeshRequest,
    readonly endpoint: EndpointState | undefined,
    readonly index: number,
    readonly startedAt: number,
  ) {}

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    this.request.attemptStarted(this, controller);
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.request.attemptUpgrade(this, statusCode, headers, socket);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.request.attemptHeaders(this, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.state === 'committed') this.request.attemptData(chunk);
  }

  onResponseEnd(_controller: Controller, trailers: IncomingHttpHeaders): void {
    this.request.attemptEnd(this, trailers);
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.request.attemptError(this, error);
  }
}
