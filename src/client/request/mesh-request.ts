import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { DecoratorHandler, type Dispatcher } from 'undici';
import type { PickRequest } from '../../balancing/balancer.js';
import type { ResolvedFaults } from '../../faults/spec.js';
import type { ResolvedResilience, ResolvedRetry } from '../../config/resilience.js';
import { MeshError, isMeshError } from '../../errors/mesh-error.js';
import { classifyError, isReplayable, nothingSent, retryReasonForError, retryReasonForStatus } from '../../resilience/retry-policy.js';
import { REQUEUE_LIMITS } from '../../resilience/requeue.js';
import type { ServiceResilience } from '../../resilience/service-resilience.js';
import type { Credentials } from '../../security/auth.js';
import { checkHeaders, checkPath, prepareHeaders } from '../../security/headers.js';
import type { AttemptTarget, RequestTrace } from '../../telemetry/otel-tracing.js';
import { MESH_ATTR, targetOf } from '../../telemetry/semconv.js';
import { assignOver } from '../../util/assign-over.js';
import type { TimerHandle } from '../../util/clock.js';
import { holdProcess, releaseProcess } from '../../util/process-hold.js';
import type { EndpointState } from '../endpoint-state.js';
import { getHeader } from '../../util/headers.js';
import type { Destination, ServiceRuntime } from '../service-runtime.js';
import { abandonBreaker, acquireBreaker, enterBulkhead, requestPolicies, settleBreaker } from './admission.js';
import { Attempt } from './attempt.js';
import * as errors from './errors.js';
import * as events from './events.js';
import { FAULT_BODY, FAULT_HEADERS, drawFaultAbort, drawFaultDelay, faultError, faultLabel, type FaultAbort } from './faults.js';
import { backoffDelay, mayHedge, mayResend, retryRefusal, statusRetryDelay, type RetryRefusal } from './retry-decision.js';
import type { RequestEnvironment, RequestRoute, ServiceRoute } from './route.js';

export type { RequestEnvironment, RequestRoute } from './route.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type V2Handler = Required<
  Pick<Handler, 'onRequestStart' | 'onRequestUpgrade' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>
>;

// undici's typings declare DecoratorHandler without its methods; they exist at runtime.
const Decorator = DecoratorHandler as unknown as new (handler: Handler) => V2Handler;

/** A retried response's body is drained (keeping the connection) up to this size, else the connection is dropped. */
const DRAIN_LIMIT = 64 * 1024;

/** Ids of logical requests in metric events, increasing per process. */
let nextRequestId = 1;

/**
 * One logical request through the mesh: the stable controller handed to the
 * caller's handler, and the state machine that drives its attempts: admit
 * (fault injection, deadlines, bulkhead, service breaker), attempts (retries
 * with backoff and budget, requeues, per-try deadlines, a hedge partner),
 * commit, finish. It forwards response events to the caller only for the
 * attempt it commits to; the first response headers handed over commit the
 * request for good: never retried or hedged after that. A retried
 * response's body is drained, never forwarded.
 *
 * The caller's handler is reached through the `forward*` methods, which
 * speak undici's v2 handler API (through `DecoratorHandler`);
 * `LegacyRequest` (legacy-request.ts) overrides them for undici 7's legacy
 * handlers.
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
  #firstEndpoint: EndpointState | undefined;
  #triedEndpoints: Set<EndpointState> | undefined;
  /** The newest attempt. */
  #current: Attempt | undefined;
  /** An older attempt still racing the newest (hedging): the hedge partner. */
  #partner: Attempt | undefined;
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
  #resilience: ServiceResilience<EndpointState> | undefined;
  /** The service's policies, with this request's overrides (`opts.mesh`) applied. */
  #policies: ResolvedResilience | undefined;
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
  /** The callback waiting in the bulkhead's queue, while the request waits there. */
  #bulkheadWaiter: (() => void) | undefined;
  #breakerPending = false;
  #trace: RequestTrace | undefined;

  constructor(env: RequestEnvironment, route: RequestRoute, opts: Dispatcher.DispatchOptions, handler: Handler) {
    super(handler);
    this.#env = env;
    this.#route = route;
    this.#opts = opts;
    this.#startedAt = env.clock.now();
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
    if (this.#partner) this.#discard(this.#partner, reason);
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

  // ---- the caller's handler (overridden by LegacyRequest) ----

  /** Hands the caller's handler its controller. @internal */
  protected forwardStart(): void {
    super.onRequestStart(this, {});
  }

  /** @internal */
  protected forwardUpgrade(statusCode: number, headers: IncomingHttpHeaders, socket: Duplex, _from: Controller | undefined): void {
    super.onRequestUpgrade(this, statusCode, headers, socket);
  }

  /** The committed response's headers; `from` is the attempt's controller (undefined for a synthetic response). @internal */
  protected forwardHeaders(statusCode: number, headers: IncomingHttpHeaders, _from: Controller | undefined, statusMessage?: string): void {
    super.onResponseStart(this, statusCode, headers, statusMessage);
  }

  /** @internal */
  protected forwardData(chunk: Buffer): void {
    super.onResponseData(this, chunk);
  }

  /** @internal */
  protected forwardEnd(trailers: IncomingHttpHeaders, _from: Controller | undefined): void {
    super.onResponseEnd(this, trailers);
  }

  /** @internal */
  protected forwardError(error: Error): void {
    super.onResponseError(this, error);
  }

  // ---- admission ----

  /** Hands the caller its controller, then admits the request and sends the first attempt. */
  start(): void {
    this.#env.live.add(this);
    this.forwardStart();
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
          (loaded) => this.#startService(route, loaded),
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

  #startService(route: ServiceRoute, credentials: Credentials | undefined): void {
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

  /** Fault injection (faults.ts): returns true when it took over the request (a delay or an abort). */
  #injectFault(faults: ResolvedFaults, route: ServiceRoute): boolean {
    const random = this.#env.random;
    const delay = drawFaultDelay(faults, random);
    const abort = drawFaultAbort(faults, random);
    if (delay < 0 && abort === undefined) return false;
    this.#trace?.set(MESH_ATTR.FAULT, faultLabel(delay, abort));
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
  #abortFault(abort: FaultAbort): void {
    if (abort.status === undefined) {
      this.#fail(faultError(abort, this.#serviceName()));
      return;
    }
    this.#status = abort.status;
    this.#committed = true;
    this.forwardHeaders(abort.status, { ...FAULT_HEADERS }, undefined, '');
    if (this.#done) return;
    this.attemptData(FAULT_BODY);
    if (this.#done) return;
    this.#done = true;
    this.forwardEnd({}, undefined);
    this.#report(undefined);
  }

  /** After routing (and any injected delay): deadlines, bulkhead, then the first attempt. */
  #admit(route: ServiceRoute): void {
    const resilience = route.service.resilience!;
    this.#resilience = resilience;
    const policies = requestPolicies(route.service, this.#opts);
    if (policies instanceof MeshError) {
      this.#fail(policies);
      return;
    }
    this.#policies = policies;
    // From here to #finish the request holds the process alive, as a pending fetch would; so its own
    // timers (deadlines, backoff, hedge) need not, and are unref'd (cheaper: see src/util/process-hold.ts).
    holdProcess();
    this.#holdsProcess = true;
    const timeout = policies.timeout;
    if (timeout) {
      // The deadline runs from here: time waiting in the bulkhead queue counts.
      this.#perTryMs = timeout.perTryMs;
      if (timeout.totalMs !== undefined) {
        this.#deadline = this.#startedAt + timeout.totalMs;
        this.#deadlineTimer = this.#env.clock.setTimeout(() => this.#deadlineExpired(timeout.totalMs!), timeout.totalMs);
      }
    }
    const bulkhead = resilience.bulkhead;
    if (bulkhead) {
      // Made in a local first: see "Closures on the request path" in legacy-request.ts.
      const resume = () => {
        this.#bulkheadWaiter = undefined;
        this.#holdsBulkhead = true;
        if (this.#done) this.#finish();
        else this.#begin(route.service);
      };
      this.#bulkheadWaiter = resume;
      const entered = enterBulkhead(bulkhead, resume, route.service.name);
      if (entered === 'queued') return;
      this.#bulkheadWaiter = undefined;
      if (entered !== 'admitted') {
        this.#reject(entered);
        return;
      }
      this.#holdsBulkhead = true;
    }
    this.#begin(route.service);
  }

  /** Starts a service request that holds its bulkhead slot (if any): the service breaker, then the first attempt. */
  #begin(service: ServiceRuntime): void {
    const resilience = service.resilience!;
    const policies = this.#policies!;
    const breaker = resilience.serviceBreaker;
    if (breaker) {
      const refused = acquireBreaker(breaker, service.name);
      if (refused) {
        this.#reject(refused);
        return;
      }
      this.#breakerPending = true;
    }
    const method = this.#opts.method;
    const replayable = isReplayable(this.#opts.body) && !this.#opts.upgrade;
    const retry = policies.retry;
    if (retry && retry.attempts > 1) {
      this.#retry = retry;
      this.#retryUnsent = mayResend(retry, method, replayable, false);
      this.#retrySent = mayResend(retry, method, replayable, true);
    }
    if (policies.hedge) this.#hedgeOk = mayHedge(retry, method, replayable);
    this.#requeueOk = replayable;
    resilience.budget?.deposit();
    resilience.requeues.deposit();
    this.#send();
  }

  /** Refused before any attempt: a `rejected` metric event, then the error. */
  #reject(error: MeshError): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) bus.metric(events.rejectedEvent(this.#id, this.#serviceName(), this.#env.clock.wallNow(), error.code));
    this.#fail(error);
  }

  // ---- attempts ----

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
    let tried = this.#triedEndpoints;
    if (index > 0 && this.#firstEndpoint !== undefined && tried === undefined) tried = this.#triedEndpoints = new Set([this.#firstEndpoint]);
    const destination = this.#destination;
    const endpoint = destination?.picker.pick({ request: this, tried });
    if (endpoint === undefined) {
      this.#attempts--;
      const what = destination ? `"${destination.name}"` : `the route's destination`;
      this.#fail(this.#lastError ?? errors.noEndpointError(what, service.name, index));
      return;
    }
    if (route.secure && endpoint.protocol !== 'https:') {
      this.#attempts--;
      this.#fail(errors.tlsRequiredError(service.name, endpoint.url, index));
      return;
    }
    if (index === 0) this.#firstEndpoint = endpoint;
    else tried!.add(endpoint);
    endpoint.inflight++;
    endpoint.attempts++;
    const attempt = new Attempt(this, endpoint, index, this.#env.clock.now());
    if (this.#current?.state === 'pending') this.#partner = this.#current;
    this.#current = attempt;
    const resilience = this.#resilience!;
    if (resilience.watching) resilience.attemptSent(endpoint);
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
    const attemptTrace = trace.attempt(attempt.index, to, opts.method, opts.path, opts.headers);
    attempt.trace = attemptTrace;
    opts.headers = attemptTrace.headers;
    attemptTrace.dispatch(dispatcher, opts, attempt);
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
    this.forwardUpgrade(statusCode, headers, socket, attempt.controller);
    this.#report(undefined);
  }

  /** @internal */
  attemptHeaders(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (attempt.state !== 'pending') return;
    this.#settle(attempt, statusCode, undefined);
    const retry = this.#retry;
    if (retry !== undefined && statusCode >= 400) {
      const reason = retryReasonForStatus(retry, statusCode);
      if (reason !== undefined) {
        const resendable = this.#retrySent;
        if (resendable && this.#partnerPending(attempt)) {
          // A hedge partner is still racing: let it answer instead.
          this.#drain(attempt, headers);
          return;
        }
        const delay = resendable ? statusRetryDelay(retry, statusCode, headers, this.#attempts, this.#env.clock, this.#env.random) : 0;
        const refusal = this.#retryRefusal(resendable, delay);
        if (refusal === undefined) {
          this.#drain(attempt, headers);
          this.#schedule(reason, delay!);
          return;
        }
        this.#refused(refusal);
      }
    }
    this.#commit(attempt, statusCode);
    this.forwardHeaders(statusCode, headers, attempt.controller, statusMessage);
  }

  /** @internal */
  attemptData(chunk: Buffer): void {
    this.forwardData(chunk);
  }

  /** @internal */
  attemptEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    attempt.release();
    if (attempt.state !== 'committed' || this.#done) return;
    attempt.state = 'done';
    this.#done = true;
    this.#finish();
    this.forwardEnd(trailers, attempt.controller);
    this.#report(undefined);
  }

  /** @internal */
  attemptError(attempt: Attempt, error: Error): void {
    attempt.release();
    const state = attempt.state;
    if (state === 'discarded' || state === 'done' || state === 'draining') return;
    attempt.state = 'done';
    if (state === 'committed') {
      this.#fail(this.#aborted ? (this.#reason ?? error) : this.#upstreamError(error, attempt, true));
      return;
    }
    attempt.clearTimer(this.#env.clock);
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
      const resendable = nothingSent(kind) ? this.#retryUnsent : this.#retrySent;
      const delay = resendable ? backoffDelay(retry!, this.#attempts, this.#env.random) : 0;
      const refusal = this.#retryRefusal(resendable, delay);
      if (refusal === undefined) {
        this.#schedule(reason, delay);
        return;
      }
      this.#refused(refusal);
    }
    this.#fail(failure);
  }

  // ---- commit, drain, hedge partner ----

  #commit(attempt: Attempt, statusCode: number): void {
    const clock = this.#env.clock;
    attempt.clearTimer(clock);
    if (this.#hedgeTimer !== undefined) clock.clearTimeout(this.#hedgeTimer);
    this.#hedgeTimer = undefined;
    const other = attempt === this.#current ? this.#partner : this.#current;
    if (other !== undefined && other !== attempt) this.#discard(other, new Error('a hedged attempt answered first'));
    this.#current = attempt;
    this.#partner = undefined;
    this.#committed = true;
    attempt.state = 'committed';
    this.#status = statusCode;
    const breaker = this.#resilience?.serviceBreaker;
    if (breaker && this.#breakerPending) {
      this.#breakerPending = false;
      settleBreaker(breaker, statusCode);
    }
  }

  /** True when an attempt other than `attempt` is still waiting for its response. */
  #partnerPending(attempt: Attempt): boolean {
    const other = attempt === this.#current ? this.#partner : this.#current;
    return other !== undefined && other !== attempt && other.state === 'pending';
  }

  /** Throws away a response that will be retried: its body is read and dropped (or the connection cut if large). */
  #drain(attempt: Attempt, headers: IncomingHttpHeaders): void {
    attempt.clearTimer(this.#env.clock);
    attempt.state = 'draining';
    this.#forget(attempt);
    const length = Number(headers['content-length']);
    if (length > DRAIN_LIMIT || this.#opts.method === 'CONNECT') attempt.controller?.abort(new Error('retried response dropped'));
    else attempt.controller?.resume();
  }

  #forget(attempt: Attempt): void {
    if (this.#current === attempt) {
      this.#current = this.#partner;
      this.#partner = undefined;
    } else if (this.#partner === attempt) this.#partner = undefined;
  }

  #discard(attempt: Attempt, reason: Error): void {
    if (attempt.state === 'discarded' || attempt.state === 'done' || attempt.state === 'draining') return;
    const wasPending = attempt.state === 'pending';
    attempt.state = 'discarded';
    attempt.clearTimer(this.#env.clock);
    attempt.trace?.end(undefined, reason, true);
    attempt.release();
    attempt.controller?.abort(reason);
    if (wasPending && attempt.endpoint && this.#resilience?.watching) this.#resilience.attemptCancelled(attempt.endpoint);
  }

  // ---- retries, requeues, hedging ----

  /** The retry decision (retry-decision.ts) for this request; a budget refusal also raises `retry-budget-exhausted`. */
  #retryRefusal(resendable: boolean, delayMs: number | undefined): RetryRefusal | undefined {
    const refusal = retryRefusal(
      {
        committed: this.#committed,
        ended: this.#aborted || this.#done,
        resendable,
        bodyReplayable: isReplayable(this.#opts.body),
        delayMs,
        tries: this.#attempts - this.#requeues,
        maxAttempts: this.#retry!.attempts,
        now: this.#env.clock.now(),
        deadline: this.#deadline,
      },
      this.#resilience?.budget,
    );
    if (refusal === 'budget') this.#budgetExhausted();
    return refusal;
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
    const tried = this.#triedEndpoints ?? (this.#firstEndpoint === undefined ? undefined : new Set([this.#firstEndpoint]));
    if (picker === undefined || tried === undefined || !picker.hasUntried(tried)) return false;
    if (this.#env.clock.now() >= this.#deadline || !this.#resilience!.requeues.tryWithdraw()) return false;
    this.#requeues++;
    return true;
  }

  /** A retry condition matched but the retry is not sent: say why (metric event and span event). */
  #refused(reason: string): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      bus.metric(events.retryRefusedEvent(this.#id, this.#serviceName(), this.#env.clock.wallNow(), reason, this.#attempts));
    }
  }

  #budgetExhausted(): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) bus.metric(events.budgetExhaustedEvent(this.#id, this.#serviceName(), this.#env.clock.wallNow()));
  }

  #schedule(reason: string, delayMs: number): void {
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      bus.metric(events.retryEvent(this.#id, this.#serviceName(), this.#env.clock.wallNow(), reason, delayMs, this.#attempts));
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
    const hedge = this.#policies!.hedge!;
    const delay = hedge.delayMs ?? this.#resilience!.latency?.value();
    if (delay === undefined) return;
    this.#hedgeTimer = this.#env.clock.setTimeout(() => {
      this.#hedgeTimer = undefined;
      const first = this.#current;
      if (this.#done || this.#committed || first?.state !== 'pending' || this.#partner !== undefined) return;
      if (this.#retry && this.#attempts >= this.#retry.attempts) return;
      if (service.usable.length < 2) return;
      const budget = this.#resilience!.budget;
      if (budget && !budget.tryWithdraw()) {
        this.#budgetExhausted();
        return;
      }
      this.#send();
      const bus = this.#env.bus;
      if (bus.wantsMetrics && this.#current !== first) {
        bus.metric(events.hedgeEvent(this.#id, service.name, this.#env.clock.wallNow(), this.#current?.endpoint?.url));
      }
    }, delay);
  }

  // ---- deadlines ----

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
      attempt.timedOut = errors.poolTimeoutError(attempt.index, this.#serviceName(), where, ms, this.#attempts);
      this.attemptError(attempt, attempt.timedOut);
      return;
    }
    const left = attempt.sentAt + ms - this.#env.clock.now();
    if (left >= 1) {
      attempt.timer = this.#env.clock.setTimeout(() => this.#perTryExpired(attempt, ms), left);
      return;
    }
    attempt.timedOut = errors.tryTimeoutError(attempt.index, this.#serviceName(), where, ms, this.#attempts);
    attempt.controller?.abort(attempt.timedOut);
    if (attempt.state === 'pending') this.attemptError(attempt, attempt.timedOut);
  }

  #deadlineExpired(totalMs: number): void {
    this.#deadlineTimer = undefined;
    if (this.#done) return;
    const endpoint = this.#current?.endpoint?.url ?? this.#lastEndpoint;
    this.#abort(errors.deadlineError(this.#serviceName(), totalMs, endpoint, this.#attempts));
  }

  #clearTimers(): void {
    const clock = this.#env.clock;
    if (this.#deadlineTimer !== undefined) clock.clearTimeout(this.#deadlineTimer);
    if (this.#waitTimer !== undefined) clock.clearTimeout(this.#waitTimer);
    if (this.#hedgeTimer !== undefined) clock.clearTimeout(this.#hedgeTimer);
    this.#deadlineTimer = this.#waitTimer = this.#hedgeTimer = undefined;
    this.#current?.clearTimer(clock);
    this.#partner?.clearTimer(clock);
    // Its timers are gone: the request no longer holds the process (an aborted one need not wait for its transport).
    if (this.#holdsProcess) {
      this.#holdsProcess = false;
      releaseProcess();
    }
  }

  // ---- finish ----

  /** The request is over: timers stop, the bulkhead slot and breaker probe are given back. */
  #finish(): void {
    this.#clearTimers();
    const resilience = this.#resilience;
    if (!resilience) return;
    if (this.#bulkheadWaiter) {
      resilience.bulkhead?.leave(this.#bulkheadWaiter);
      this.#bulkheadWaiter = undefined;
    }
    if (this.#holdsBulkhead) {
      this.#holdsBulkhead = false;
      resilience.bulkhead?.release();
    }
    const breaker = resilience.serviceBreaker;
    if (breaker && this.#breakerPending) {
      this.#breakerPending = false;
      abandonBreaker(breaker, this.#aborted, this.#reason, this.#lastError);
    }
  }

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
      if (this.#resilience?.watching) this.#resilience.attemptCancelled(endpoint);
    } else if (endpoint) {
      this.#lastEndpoint = endpoint.url;
      if (!ok) endpoint.failures++;
      this.#destination?.picker.report(endpoint, { durationMs, ok });
      if (this.#route.kind === 'service') {
        const resilience = this.#resilience!;
        if (resilience.watching) resilience.attemptDone(endpoint, status, error !== undefined && nothingSent(classifyError(error)));
        if (status !== undefined) resilience.latency?.record(durationMs);
      }
    }
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      const where = endpoint?.url ?? this.#originOf();
      const time = this.#env.clock.wallNow();
      bus.metric(events.attemptEvent(this.#id, this.#serviceName(), time, where, this.#opts.method, durationMs, attempt.index, status, error));
    }
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#finish();
    this.forwardError(error);
    this.#report(error);
  }

  #upstreamError(error: Error, attempt: Attempt, committed: boolean): MeshError {
    const where = attempt.endpoint?.url ?? this.#originOf();
    return errors.upstreamError(error, this.#serviceName(), where, committed, this.#attempts);
  }

  #report(error: Error | undefined): void {
    this.#env.live.delete(this);
    const cancelled = this.#cancelled;
    this.#trace?.end(this.#status, error, this.#attempts, cancelled);
    const bus = this.#env.bus;
    if (!bus.wantsMetrics) return;
    const egress = this.#route.kind === 'egress';
    const endpoint = this.#current?.endpoint?.url ?? this.#lastEndpoint ?? (egress ? this.#originOf() : undefined);
    const clock = this.#env.clock;
    const durationMs = clock.now() - this.#startedAt;
    bus.metric(
      events.requestEvent(this.#id, this.#serviceName(), clock.wallNow(), this.#opts.method, durationMs, this.#attempts, endpoint, this.#status, error, cancelled, egress),
    );
  }

  #serviceName(): string {
    const route = this.#route;
    return route.kind === 'service' ? route.service.name : route.host;
  }

  #originOf(): string {
    return this.#route.kind === 'egress' ? this.#route.origin : '';
  }
}
