import type { Dispatcher } from 'undici';
import type { ResolvedFaults } from '../../faults/spec.js';
import { resolveRequestResilience, type ResolvedResilience, type ResolvedRetry } from '../../resilience/options.js';
import { MeshConfigError, MeshError, isMeshError } from '../../errors/mesh-error.js';
import type { Bulkhead } from '../../resilience/bulkhead.js';
import type { CircuitBreaker } from '../../resilience/endpoint-breaker.js';
import { isReplayable } from '../../resilience/retry-policy.js';
import type { ServiceResilience } from '../../resilience/service-resilience.js';
import type { Credentials } from '../../security/auth.js';
import { checkHeaders, checkPath, prepareHeaders } from '../../security/headers.js';
import { MESH_ATTR } from '../../telemetry/semconv.js';
import type { TimerHandle } from '../../util/clock.js';
import { holdProcess } from '../../util/process-hold.js';
import type { EndpointState } from '../endpoint-state.js';
import type { Destination, ServiceRuntime } from '../service-runtime.js';
import { RequestController } from './controller.js';
import { bulkheadRejectedError, circuitOpenError, deadlineError } from './errors.js';
import * as events from './events.js';
import { FAULT_BODY, FAULT_HEADERS, drawFaultAbort, drawFaultDelay, faultError, faultLabel, type FaultAbort } from './faults.js';
import { mayHedge, mayResend } from './retry-decision.js';
import type { ServiceRoute } from './route.js';

/**
 * The admission stage of a request, the second layer of its state machine
 * (between {@link RequestController} and the engine, `MeshRequest`):
 * header hygiene and credentials, the route's destination, fault
 * injection, the request's policies (the service's, with the request's
 * `mesh` overrides), its deadline, the service's bulkhead, then its circuit
 * breaker, and at last the first attempt (`send`). What it decides is kept
 * in protected fields the engine reads; what it hands out (a bulkhead slot,
 * a breaker probe, the process hold) is given back by the engine's
 * `finish` through {@link RequestAdmission.releaseAdmission}.
 */
export abstract class RequestAdmission extends RequestController {
  /** The headers sent to the service's endpoints: checked, the Host the service's, credentials added. */
  protected serviceHeaders: string[] | undefined;
  /** The route's destination (its picker, faults and name), for a service request. */
  protected destination: Destination | undefined;
  protected resilience: ServiceResilience<EndpointState> | undefined;
  /** The service's policies, with this request's overrides (`opts.mesh`) applied. */
  protected policies: ResolvedResilience | undefined;
  /** The retry policy, when it allows more than one attempt. */
  protected retry: ResolvedRetry | undefined;
  /** May retry after something was sent (retriable method, replayable body). */
  protected retrySent = false;
  /** May retry when nothing was sent (replayable body). */
  protected retryUnsent = false;
  /** May requeue a connect failure to another endpoint (replayable body; any method, retry policy or not). */
  protected requeueOk = false;
  /** May hedge (idempotent method, replayable body, hedging on). */
  protected hedgeOk = false;
  protected perTryMs: number | undefined;
  /** When the total deadline expires (clock time), or Infinity. */
  protected deadline = Infinity;
  protected deadlineTimer: TimerHandle | undefined;
  /** The timer of an injected delay or a retry's backoff. */
  protected waitTimer: TimerHandle | undefined;
  /** Holds the process alive (src/util/process-hold.ts) from admission to the end; its timers are unref'd. */
  protected holdsProcess = false;
  /** A breaker probe was granted and not yet settled. */
  protected breakerPending = false;
  #holdsBulkhead = false;
  /** The callback waiting in the bulkhead's queue, while the request waits there. */
  #bulkheadWaiter: (() => void) | undefined;

  /** Sends the next attempt (the engine's). */
  protected abstract send(): void;

  /** Hands the caller its controller, then admits the request and sends the first attempt. */
  start(): void {
    this.env.live.add(this);
    this.forwardStart();
    if (this.done || this.aborted) return;
    const route = this.route;
    this.trace = this.env.tracing.start(this.opts.method, this.serviceName(), route.kind === 'egress');
    if (route.kind === 'refused') {
      this.fail(route.error);
      return;
    }
    // Header hygiene: the path cannot leave the service or origin, headers are
    // valid (no CR/LF/NUL), and the Host is the service's (src/security/headers.ts).
    const invalid = checkPath(this.opts.path, this.serviceName());
    if (invalid) {
      this.fail(invalid);
      return;
    }
    if (route.kind === 'service') {
      const auth = route.service.security?.auth;
      const credentials = auth?.current();
      if (auth !== undefined && credentials === undefined) {
        // Nothing valid cached: wait for the credential hook, then go on.
        auth.load().then(
          (loaded) => this.#startService(route, loaded),
          (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))),
        );
        return;
      }
      this.#startService(route, credentials);
      return;
    }
    const bad = checkHeaders(this.opts.headers, route.host);
    if (bad) {
      this.fail(bad);
      return;
    }
    this.send();
  }

  #startService(route: ServiceRoute, credentials: Credentials | undefined): void {
    if (this.done || this.aborted) return;
    const headers = prepareHeaders(this.opts.headers, route.authority, route.service.name, credentials);
    if (headers instanceof MeshError) {
      this.fail(headers);
      return;
    }
    this.serviceHeaders = headers;
    const destination = (this.destination = route.service.destination(this));
    this.trace?.route(destination?.route, destination?.name);
    if (destination?.faults !== undefined && this.#injectFault(destination.faults, route)) return;
    this.#admit(route);
  }

  /** Fault injection (faults.ts): returns true when it took over the request (a delay or an abort). */
  #injectFault(faults: ResolvedFaults, route: ServiceRoute): boolean {
    const random = this.env.random;
    const delay = drawFaultDelay(faults, random);
    const abort = drawFaultAbort(faults, random);
    if (delay < 0 && abort === undefined) return false;
    this.trace?.set(MESH_ATTR.FAULT, faultLabel(delay, abort));
    if (delay < 0) {
      this.#abortFault(abort!);
      return true;
    }
    this.waitTimer = this.env.clock.setTimeout(() => {
      this.waitTimer = undefined;
      if (this.done || this.aborted) return;
      if (abort !== undefined) this.#abortFault(abort);
      else this.#admit(route);
    }, delay, true);
    return true;
  }

  /** An injected abort: a synthetic response or a failure; the network is not touched. */
  #abortFault(abort: FaultAbort): void {
    if (abort.status === undefined) {
      this.fail(faultError(abort, this.serviceName()));
      return;
    }
    this.status = abort.status;
    this.committed = true;
    this.forwardHeaders(abort.status, { ...FAULT_HEADERS }, undefined, '');
    if (this.done) return;
    this.forwardData(FAULT_BODY);
    if (this.done) return;
    this.done = true;
    this.forwardEnd({}, undefined);
    this.report(undefined);
  }

  /** After routing (and any injected delay): deadlines, bulkhead, then the first attempt. */
  #admit(route: ServiceRoute): void {
    const resilience = route.service.resilience!;
    this.resilience = resilience;
    const policies = requestPolicies(route.service, this.opts);
    if (policies instanceof MeshError) {
      this.fail(policies);
      return;
    }
    this.policies = policies;
    // From here to finish the request holds the process alive, as a pending fetch would; so its own
    // timers (deadlines, backoff, hedge) need not, and are unref'd (cheaper: see src/util/process-hold.ts).
    holdProcess();
    this.holdsProcess = true;
    const timeout = policies.timeout;
    if (timeout) {
      // The deadline runs from here: time waiting in the bulkhead queue counts.
      this.perTryMs = timeout.perTryMs;
      if (timeout.totalMs !== undefined) {
        this.deadline = this.startedAt + timeout.totalMs;
        this.deadlineTimer = this.env.clock.setTimeout(() => this.#deadlineExpired(timeout.totalMs!), timeout.totalMs);
      }
    }
    const bulkhead = resilience.bulkhead;
    if (bulkhead) {
      // Closures on the request path: never write a function literal straight
      // into a property (`this.#f = () => ...`). V8's parser takes that for a
      // method being installed and allocates such closures in old space. The
      // old closure then keeps this request's young objects (through `this`)
      // alive across scavenges; their allocation sites, undici's among them,
      // see full survival and get pretenured for the life of the process, and
      // every request after that is promoted instead of dying young
      // (docs/benchmarks.md, "Pretenuring"). A closure made into a local, as
      // here, is allocated young.
      const resume = () => {
        this.#bulkheadWaiter = undefined;
        this.#holdsBulkhead = true;
        if (this.done) this.finish();
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
    const policies = this.policies!;
    const breaker = resilience.serviceBreaker;
    if (breaker) {
      const refused = acquireBreaker(breaker, service.name);
      if (refused) {
        this.#reject(refused);
        return;
      }
      this.breakerPending = true;
    }
    const method = this.opts.method;
    const replayable = isReplayable(this.opts.body) && !this.opts.upgrade;
    const retry = policies.retry;
    if (retry && retry.attempts > 1) {
      this.retry = retry;
      this.retryUnsent = mayResend(retry, method, replayable, false);
      this.retrySent = mayResend(retry, method, replayable, true);
    }
    if (policies.hedge) this.hedgeOk = mayHedge(retry, method, replayable);
    this.requeueOk = replayable;
    resilience.budget?.deposit();
    resilience.requeues.deposit();
    this.send();
  }

  /** Refused before any attempt: a `rejected` metric event, then the error. */
  #reject(error: MeshError): void {
    const bus = this.env.bus;
    if (bus.wantsMetrics) bus.metric(events.rejectedEvent(this.id, this.serviceName(), this.env.clock.wallNow(), error.code));
    this.fail(error);
  }

  #deadlineExpired(totalMs: number): void {
    this.deadlineTimer = undefined;
    if (this.done) return;
    const endpoint = this.current?.endpoint?.url ?? this.lastEndpoint;
    this.interrupt(deadlineError(this.serviceName(), totalMs, endpoint, this.attempts));
  }

  /**
   * Gives back the bulkhead slot (or the place in its queue) and the breaker
   * probe; `lastError` is the last attempt's failure, which the breaker
   * judges when the request ended without a response.
   */
  protected releaseAdmission(lastError: Error | undefined): void {
    const resilience = this.resilience;
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
    if (breaker && this.breakerPending) {
      this.breakerPending = false;
      abandonBreaker(breaker, this.aborted, this.reason, lastError);
    }
  }
}

/** The service's resilience policies with the request's `mesh` overrides applied, or the error naming what is wrong with them. */
export function requestPolicies(service: ServiceRuntime, opts: Dispatcher.DispatchOptions): ResolvedResilience | MeshConfigError {
  const policies = service.config.resilience;
  const override = (opts as { mesh?: unknown }).mesh;
  if (override === undefined) return policies;
  const resolved = resolveRequestResilience(override, policies);
  return Array.isArray(resolved) ? new MeshConfigError(resolved) : resolved;
}

/**
 * Enters the service's bulkhead: `admitted` (the request holds a slot),
 * `queued` (`waiter` is called once it holds one) or the
 * `MESH_BULKHEAD_REJECTED` error when the queue is full too.
 */
export function enterBulkhead(bulkhead: Bulkhead, waiter: () => void, service: string): 'admitted' | 'queued' | MeshError {
  const entered = bulkhead.enter(waiter);
  if (entered === 'rejected') return bulkheadRejectedError(service, bulkhead);
  return entered === 'run' ? 'admitted' : 'queued';
}

/** Asks the service's breaker for a probe: undefined when granted (the request must then settle it), else `MESH_CIRCUIT_OPEN`. */
export function acquireBreaker(breaker: CircuitBreaker, service: string): MeshError | undefined {
  return breaker.tryAcquire() ? undefined : circuitOpenError(service, breaker.state);
}

/** The request committed to a response: a 5xx counts against the service when its breaker counts them. */
export function settleBreaker(breaker: CircuitBreaker, statusCode: number): void {
  if (statusCode >= 500 && breaker.settings.count5xx) breaker.failure();
  else breaker.success();
}

/**
 * The request ended without a response: a failure of the service, except a
 * cancel, a shutdown or a wait for a pooled connection, which say nothing
 * about it (the probe is given back).
 */
export function abandonBreaker(breaker: CircuitBreaker, aborted: boolean, reason: Error | null, lastError: Error | undefined): void {
  if (aborted ? !isMeshError(reason, 'MESH_TIMEOUT') : isMeshError(lastError, 'MESH_POOL_TIMEOUT')) breaker.cancel();
  else breaker.failure();
}
