import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { isMeshError } from '../../errors/mesh-error.js';
import { classifyError, isReplayable, nothingSent, retryReasonForError, retryReasonForStatus } from '../../resilience/retry-policy.js';
import { REQUEUE_LIMITS } from '../../resilience/requeue.js';
import { targetOf } from '../../telemetry/semconv.js';
import { assignOver } from '../../util/assign-over.js';
import type { TimerHandle } from '../../util/clock.js';
import { releaseProcess } from '../../util/process-hold.js';
import type { EndpointState } from '../endpoint-state.js';
import type { ServiceRuntime } from '../service-runtime.js';
import { RequestAdmission, settleBreaker } from './admission.js';
import { Attempt } from './attempt.js';
import * as errors from './errors.js';
import * as events from './events.js';
import { backoffDelay, retryRefusal, statusRetryDelay, type RetryRefusal } from './retry-decision.js';

import type { RequestEnvironment, RequestRoute } from './route.js';

export type { RequestEnvironment, RequestRoute } from './route.js';

type Controller = Dispatcher.DispatchController;

/** A retried response's body is drained (keeping the connection) up to this size, else the connection is dropped. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * One logical request through the mesh: the state machine that drives its
 * attempts. Its layers, each a file: the caller's side
 * ({@link RequestController}, controller.ts: the controller the caller's
 * handler holds, forwarding to that handler, the reported end), admission
 * ({@link RequestAdmission}, admission.ts: auth, fault injection, policies,
 * deadlines, bulkhead, service breaker), and here the attempts (retries with
 * backoff and budget, requeues, per-try deadlines, a hedge partner), commit
 * and finish.
 *
 * It forwards response events to the caller only for the attempt it commits
 * to; the first response headers handed over commit the request for good:
 * never retried or hedged after that. A retried response's body is drained,
 * never forwarded. `LegacyRequest` (legacy-request.ts) extends it for
 * undici 7's legacy handlers.
 */
export class MeshRequest extends RequestAdmission {
  #firstEndpoint: EndpointState | undefined;
  #triedEndpoints: Set<EndpointState> | undefined;
  /** An older attempt still racing the newest (`current`, hedging): the hedge partner. */
  #partner: Attempt | undefined;
  /** Requeues sent (they do not count toward `retry.attempts`). */
  #requeues = 0;
  #hedgeTimer: TimerHandle | undefined;
  #lastError: Error | undefined;

  /** Interrupted (see `RequestController.interrupt`): timers stop, attempts are discarded, the request fails. */
  protected override interrupted(reason: Error): void {
    this.#clearTimers();
    const attempt = this.current;
    if (this.committed && attempt?.controller) {
      // The body is streaming: abort the attempt; its error event finishes us.
      attempt.controller.abort(reason);
      return;
    }
    if (attempt) this.#discard(attempt, reason);
    if (this.#partner) this.#discard(this.#partner, reason);
    this.fail(reason);
  }

  // ---- attempts ----

  /** Sends the next attempt: to the origin (egress), or to the endpoint the destination's picker picks. */
  protected send(): void {
    const route = this.route;
    if (route.kind === 'refused' || this.done) return;
    const index = this.attempts++;
    let body = this.opts.body;
    if (typeof body === 'function') body = (body as () => Dispatcher.DispatchOptions['body'])();
    if (route.kind === 'egress') {
      const attempt = new Attempt(this, undefined, index, this.env.clock.now());
      this.current = attempt;
      const opts = body === this.opts.body ? this.opts : assignOver(this.opts, { body });
      if (this.trace === undefined) route.dispatcher.dispatch(opts, attempt);
      else attempt.sendTraced(this.trace, route.dispatcher, { ...opts }, { target: targetOf(route.origin) });
      return;
    }
    const service = route.service;
    let tried = this.#triedEndpoints;
    if (index > 0 && this.#firstEndpoint !== undefined && tried === undefined) tried = this.#triedEndpoints = new Set([this.#firstEndpoint]);
    const destination = this.destination;
    const endpoint = destination?.picker.pick({ request: this, tried });
    if (endpoint === undefined) {
      this.attempts--;
      const what = destination ? `"${destination.name}"` : `the route's destination`;
      this.fail(this.#lastError ?? errors.noEndpointError(what, service.name, index));
      return;
    }
    if (route.secure && endpoint.protocol !== 'https:') {
      this.attempts--;
      this.fail(errors.tlsRequiredError(service.name, endpoint.url, index));
      return;
    }
    if (index === 0) this.#firstEndpoint = endpoint;
    else tried!.add(endpoint);
    endpoint.inflight++;
    endpoint.attempts++;
    const attempt = new Attempt(this, endpoint, index, this.env.clock.now());
    if (this.current?.state === 'pending') this.#partner = this.current;
    this.current = attempt;
    const resilience = this.resilience!;
    if (resilience.watching) resilience.attemptSent(endpoint);
    if (this.perTryMs !== undefined) {
      const ms = this.perTryMs;
      attempt.timer = this.env.clock.setTimeout(() => this.#perTryExpired(attempt, ms), ms);
    }
    if (index === 0 && this.hedgeOk) this.#armHedge(service);
    // `servername` is what undici would derive from the Host header (route.servername), unless the caller set one.
    // Not `{ ...this.opts, origin, ... }`: slow to make and to read on Node 20 (src/util/assign-over.ts).
    const servername = (this.opts as { servername?: string | null }).servername || route.servername;
    const opts = assignOver(this.opts, { origin: endpoint.url, headers: this.serviceHeaders, body, servername });
    if (this.trace === undefined) endpoint.pool().dispatch(opts, attempt);
    else {
      const policy = service.config.loadBalancer.policy;
      const candidates = destination!.picker.endpoints.length;
      const to = { target: targetOf(endpoint.url), endpoint: endpoint.url, policy, candidates };
      attempt.sendTraced(this.trace, endpoint.pool(), opts, to);
    }
  }

  // ---- attempt callbacks (called by Attempt only) ----

  /** @internal */
  attemptStarted(attempt: Attempt, controller: Controller): void {
    if (attempt.state !== 'pending') {
      // Given up while queued for a connection (per-try deadline, cancel, hedge lost) and now handed one.
      const reason = attempt.timedOut ?? this.reason ?? new Error('attempt discarded');
      // On the endpoint's own undici Pool, throwing here drops the request before anything is written
      // and keeps the connection for the next one (client-h1's writeH1 catches a throwing onConnect,
      // errors the request and moves on); `controller.abort()` would destroy the socket. Any other
      // dispatcher (a `transport`) gets the abort.
      if (attempt.endpoint?.pooled === true) throw reason;
      controller.abort(reason);
      return;
    }
    if (attempt.timer !== undefined) attempt.sentAt = this.env.clock.now();
    if (this.paused) controller.pause();
  }

  /** @internal */
  attemptUpgrade(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (attempt.state !== 'pending') return;
    this.#settle(attempt, statusCode, undefined);
    this.#commit(attempt, statusCode);
    this.done = true;
    this.finish();
    this.forwardUpgrade(statusCode, headers, socket, attempt.controller);
    this.report(undefined);
  }

  /** @internal */
  attemptHeaders(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (attempt.state !== 'pending') return;
    this.#settle(attempt, statusCode, undefined);
    const retry = this.retry;
    if (retry !== undefined && statusCode >= 400) {
      const reason = retryReasonForStatus(retry, statusCode);
      if (reason !== undefined) {
        const resendable = this.retrySent;
        if (resendable && this.#partnerPending(attempt)) {
          // A hedge partner is still racing: let it answer instead.
          this.#drain(attempt, headers);
          return;
        }
        const delay = resendable ? statusRetryDelay(retry, statusCode, headers, this.attempts, this.env.clock, this.env.random) : 0;
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
    if (attempt.state !== 'committed' || this.done) return;
    attempt.state = 'done';
    this.done = true;
    this.finish();
    this.forwardEnd(trailers, attempt.controller);
    this.report(undefined);
  }

  /** @internal */
  attemptError(attempt: Attempt, error: Error): void {
    attempt.release();
    const state = attempt.state;
    if (state === 'discarded' || state === 'done' || state === 'draining') return;
    attempt.state = 'done';
    if (state === 'committed') {
      this.fail(this.aborted ? (this.reason ?? error) : this.upstreamError(error, attempt, true));
      return;
    }
    attempt.clearTimer(this.env.clock);
    if (this.aborted) {
      this.fail(this.reason ?? error);
      return;
    }
    const cause = attempt.timedOut ?? error;
    const kind = classifyError(cause);
    // Queued for a connection until the per-try deadline: the endpoint never saw it.
    this.#settle(attempt, undefined, cause, attempt.sentAt < 0 && isMeshError(cause, 'MESH_POOL_TIMEOUT'));
    const failure = attempt.timedOut ?? this.upstreamError(error, attempt, false);
    this.#lastError = failure;
    this.#forget(attempt);
    if (this.current?.state === 'pending') return; // the hedge partner may still answer
    if (nothingSent(kind) && attempt.endpoint !== undefined && this.#mayRequeue()) {
      this.#schedule('requeue', 0);
      return;
    }
    const retry = this.retry;
    const reason = retry === undefined ? undefined : retryReasonForError(retry, kind);
    if (reason !== undefined) {
      const resendable = nothingSent(kind) ? this.retryUnsent : this.retrySent;
      const delay = resendable ? backoffDelay(retry!, this.attempts, this.env.random) : 0;
      const refusal = this.#retryRefusal(resendable, delay);
      if (refusal === undefined) {
        this.#schedule(reason, delay);
        return;
      }
      this.#refused(refusal);
    }
    this.fail(failure);
  }

  // ---- commit, drain, hedge partner ----

  #commit(attempt: Attempt, statusCode: number): void {
    const clock = this.env.clock;
    attempt.clearTimer(clock);
    if (this.#hedgeTimer !== undefined) clock.clearTimeout(this.#hedgeTimer);
    this.#hedgeTimer = undefined;
    const other = attempt === this.current ? this.#partner : this.current;
    if (other !== undefined && other !== attempt) this.#discard(other, new Error('a hedged attempt answered first'));
    this.current = attempt;
    this.#partner = undefined;
    this.committed = true;
    attempt.state = 'committed';
    this.status = statusCode;
    const breaker = this.resilience?.serviceBreaker;
    if (breaker && this.breakerPending) {
      this.breakerPending = false;
      settleBreaker(breaker, statusCode);
    }
  }

  /** True when an attempt other than `attempt` is still waiting for its response. */
  #partnerPending(attempt: Attempt): boolean {
    const other = attempt === this.current ? this.#partner : this.current;
    return other !== undefined && other !== attempt && other.state === 'pending';
  }

  /** Throws away a response that will be retried: its body is read and dropped (or the connection cut if large). */
  #drain(attempt: Attempt, headers: IncomingHttpHeaders): void {
    attempt.clearTimer(this.env.clock);
    attempt.state = 'draining';
    this.#forget(attempt);
    const length = Number(headers['content-length']);
    if (length > DRAIN_LIMIT || this.opts.method === 'CONNECT') attempt.controller?.abort(new Error('retried response dropped'));
    else attempt.controller?.resume();
  }

  #forget(attempt: Attempt): void {
    if (this.current === attempt) {
      this.current = this.#partner;
      this.#partner = undefined;
    } else if (this.#partner === attempt) this.#partner = undefined;
  }

  #discard(attempt: Attempt, reason: Error): void {
    if (attempt.state === 'discarded' || attempt.state === 'done' || attempt.state === 'draining') return;
    const wasPending = attempt.state === 'pending';
    attempt.state = 'discarded';
    attempt.clearTimer(this.env.clock);
    attempt.trace?.end(undefined, reason, true);
    attempt.release();
    attempt.controller?.abort(reason);
    if (wasPending && attempt.endpoint && this.resilience?.watching) this.resilience.attemptCancelled(attempt.endpoint);
  }

  // ---- retries, requeues, hedging ----

  /** The retry decision (retry-decision.ts) for this request; a budget refusal also raises `retry-budget-exhausted`. */
  #retryRefusal(resendable: boolean, delayMs: number | undefined): RetryRefusal | undefined {
    const refusal = retryRefusal(
      {
        committed: this.committed,
        ended: this.aborted || this.done,
        resendable,
        bodyReplayable: isReplayable(this.opts.body),
        delayMs,
        tries: this.attempts - this.#requeues,
        maxAttempts: this.retry!.attempts,
        now: this.env.clock.now(),
        deadline: this.deadline,
      },
      this.resilience?.budget,
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
    if (!this.requeueOk || this.aborted || this.done || this.#requeues >= REQUEUE_LIMITS.maxPerRequest) return false;
    // Only to an endpoint not tried yet: with none left, a requeue would hit one that just refused.
    const picker = this.destination?.picker;
    const tried = this.#triedEndpoints ?? (this.#firstEndpoint === undefined ? undefined : new Set([this.#firstEndpoint]));
    if (picker === undefined || tried === undefined || !picker.hasUntried(tried)) return false;
    if (this.env.clock.now() >= this.deadline || !this.resilience!.requeues.tryWithdraw()) return false;
    this.#requeues++;
    return true;
  }

  /** A retry condition matched but the retry is not sent: say why (metric event and span event). */
  #refused(reason: string): void {
    const bus = this.env.bus;
    if (bus.wantsMetrics) {
      bus.metric(events.retryRefusedEvent(this.id, this.serviceName(), this.env.clock.wallNow(), reason, this.attempts));
    }
  }

  #budgetExhausted(): void {
    const bus = this.env.bus;
    if (bus.wantsMetrics) bus.metric(events.budgetExhaustedEvent(this.id, this.serviceName(), this.env.clock.wallNow()));
  }

  #schedule(reason: string, delayMs: number): void {
    const bus = this.env.bus;
    if (bus.wantsMetrics) {
      bus.metric(events.retryEvent(this.id, this.serviceName(), this.env.clock.wallNow(), reason, delayMs, this.attempts));
    }
    if (delayMs <= 0) {
      // No backoff: send on the next microtask (outside the failed attempt's callback), no timer.
      queueMicrotask(() => {
        if (!this.done) this.send();
      });
      return;
    }
    this.waitTimer = this.env.clock.setTimeout(() => {
      this.waitTimer = undefined;
      if (!this.done) this.send();
    }, delayMs);
  }

  #armHedge(service: ServiceRuntime): void {
    const hedge = this.policies!.hedge!;
    const delay = hedge.delayMs ?? this.resilience!.latency?.value();
    if (delay === undefined) return;
    this.#hedgeTimer = this.env.clock.setTimeout(() => {
      this.#hedgeTimer = undefined;
      const first = this.current;
      if (this.done || this.committed || first?.state !== 'pending' || this.#partner !== undefined) return;
      if (this.retry && this.attempts >= this.retry.attempts) return;
      if (service.usable.length < 2) return;
      const budget = this.resilience!.budget;
      if (budget && !budget.tryWithdraw()) {
        this.#budgetExhausted();
        return;
      }
      this.send();
      const bus = this.env.bus;
      if (bus.wantsMetrics && this.current !== first) {
        bus.metric(events.hedgeEvent(this.id, service.name, this.env.clock.wallNow(), this.current?.endpoint?.url));
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
      attempt.timedOut = errors.poolTimeoutError(attempt.index, this.serviceName(), where, ms, this.attempts);
      this.attemptError(attempt, attempt.timedOut);
      return;
    }
    const left = attempt.sentAt + ms - this.env.clock.now();
    if (left >= 1) {
      attempt.timer = this.env.clock.setTimeout(() => this.#perTryExpired(attempt, ms), left);
      return;
    }
    attempt.timedOut = errors.tryTimeoutError(attempt.index, this.serviceName(), where, ms, this.attempts);
    attempt.controller?.abort(attempt.timedOut);
    if (attempt.state === 'pending') this.attemptError(attempt, attempt.timedOut);
  }

  #clearTimers(): void {
    const clock = this.env.clock;
    if (this.deadlineTimer !== undefined) clock.clearTimeout(this.deadlineTimer);
    if (this.waitTimer !== undefined) clock.clearTimeout(this.waitTimer);
    if (this.#hedgeTimer !== undefined) clock.clearTimeout(this.#hedgeTimer);
    this.deadlineTimer = this.waitTimer = this.#hedgeTimer = undefined;
    this.current?.clearTimer(clock);
    this.#partner?.clearTimer(clock);
    // Its timers are gone: the request no longer holds the process (an aborted one need not wait for its transport).
    if (this.holdsProcess) {
      this.holdsProcess = false;
      releaseProcess();
    }
  }

  // ---- finish ----

  /** The request is over: timers stop, the bulkhead slot and breaker probe are given back. */
  protected finish(): void {
    this.#clearTimers();
    this.releaseAdmission(this.#lastError);
  }

  /**
   * Accounts for the end of an attempt's waiting phase (headers or failure).
   * A `blameless` failure (queued for a connection until the per-try
   * deadline) is reported in events and spans but feeds nothing that judges
   * the endpoint: failure count, balancer, breaker, outlier detection, latency.
   */
  #settle(attempt: Attempt, status: number | undefined, error: Error | undefined, blameless = false): void {
    attempt.trace?.end(status, error, false);
    const durationMs = this.env.clock.now() - attempt.startedAt;
    const endpoint = attempt.endpoint;
    const ok = error === undefined && (status === undefined || status < 500);
    if (endpoint && blameless) {
      this.lastEndpoint = endpoint.url;
      if (this.resilience?.watching) this.resilience.attemptCancelled(endpoint);
    } else if (endpoint) {
      this.lastEndpoint = endpoint.url;
      if (!ok) endpoint.failures++;
      this.destination?.picker.report(endpoint, { durationMs, ok });
      if (this.route.kind === 'service') {
        const resilience = this.resilience!;
        if (resilience.watching) resilience.attemptDone(endpoint, status, error !== undefined && nothingSent(classifyError(error)));
        if (status !== undefined) resilience.latency?.record(durationMs);
      }
    }
    const bus = this.env.bus;
    if (bus.wantsMetrics) {
      const where = endpoint?.url ?? this.originOf();
      const time = this.env.clock.wallNow();
      bus.metric(events.attemptEvent(this.id, this.serviceName(), time, where, this.opts.method, durationMs, attempt.index, status, error));
    }
  }
}

/**
 * The request for one dispatch (undici's v2 handler API). The dispatcher
 * takes legacy-request.ts's `createRequest` instead while undici 7's legacy
 * handlers are served; this one is what it takes once that file is gone.
 */
export function createRequest(env: RequestEnvironment, route: RequestRoute, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): MeshRequest {
  return new MeshRequest(env, route, opts, handler);
}
