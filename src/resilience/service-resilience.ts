import type { ResolvedBreaker, ResolvedResilience } from './options.js';
import type { HealthEventType } from '../telemetry/events.js';
import type { EventBus } from '../telemetry/event-bus.js';
import type { Clock } from '../util/clock.js';
import { debugChannel } from '../util/logger.js';
import { Bulkhead } from './bulkhead.js';
import type { ConnectProbe } from './connect-probe.js';
import { CircuitBreaker } from './endpoint-breaker.js';
import { LatencyTracker } from './hedging.js';
import { OutlierDetector } from './outlier-detector.js';
import { requeueBudget } from './requeue.js';
import { RetryBudget } from './retry-budget.js';

const trace = debugChannel('resilience');

/** The endpoint view this module needs (an `EndpointState`). */
export interface GuardedEndpoint {
  readonly url: string;
  /** The host a connect probe dials (no brackets around an IPv6 address). */
  readonly host: string;
  /** The TCP port a connect probe dials. */
  readonly port: number;
  /**
   * Marks or clears a reason the endpoint may not be picked; the service
   * runtime recomputes its usable set (and panic) when the reasons change.
   */
  setDown(reason: 'circuit-open' | 'ejected', on: boolean): boolean;
  /** True when the endpoint is down for `reason` (a removed endpoint is `draining`: it gets no breaker). */
  isDown?(reason: string): boolean;
}

/** The service runtime whose endpoints this module guards. */
export interface UsableTarget<E> {
  readonly endpoints: readonly E[];
}

/** What the resilience runtime needs from the client. */
export interface ResilienceEnvironment {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly random: () => number;
  /**
   * Probes endpoints ejected for connect failures (`tcpConnectProbe` when
   * the mesh dials its endpoints itself); undefined when a user's
   * `transport` does, since a TCP connect would then say nothing about it:
   * those ejections last their full time.
   */
  readonly connectProbe?: ConnectProbe | undefined;
}

/**
 * The resilience runtime of one service, kept across configuration updates:
 * its retry budget, endpoint breakers, optional service breaker, outlier
 * detector, bulkhead and latency tracker. It marks endpoints behind an open
 * breaker (`circuit-open`) or ejected (`ejected`) as down; the service runtime
 * turns down reasons into the usable set, applying the panic threshold,
 * priority and locality in one place — on the control side, when a state
 * changes, never per request.
 */
export class ServiceResilience<E extends GuardedEndpoint = GuardedEndpoint> {
  readonly service: string;
  readonly #env: ResilienceEnvironment;
  config: ResolvedResilience | undefined;
  budget: RetryBudget | undefined;
  /** The requeue budget (`requeue.ts`): always on, apart from the retry budget. */
  readonly requeues: RetryBudget;
  serviceBreaker: CircuitBreaker | undefined;
  bulkhead: Bulkhead | undefined;
  latency: LatencyTracker | undefined;
  #outliers: OutlierDetector<E> | undefined;
  /**
   * Endpoint breakers, created on an endpoint's first outcome: until then it
   * is closed with nothing counted, which a missing entry means too (this
   * keeps the mesh's per-endpoint memory small at thousands of endpoints).
   */
  readonly #breakers = new Map<E, CircuitBreaker>();
  /** The endpoint breaker settings, when endpoint breakers are on. */
  #endpointBreaker: ResolvedBreaker | undefined;
  #target: UsableTarget<E> | undefined;
  #closed = false;

  constructor(service: string, env: ResilienceEnvironment) {
    this.service = service;
    this.#env = env;
    this.requeues = requeueBudget(env.clock);
  }

  /** True when attempts need reporting (some breaker or detector listens). */
  get watching(): boolean {
    return this.#endpointBreaker !== undefined || this.#outliers !== undefined;
  }

  /**
   * Applies a (new) configuration and endpoint set, keeping the state of
   * policies whose settings did not change, then recomputes the usable set.
   */
  configure(config: ResolvedResilience, target: UsableTarget<E>): void {
    const old = this.config;
    this.config = config;
    this.#target = target;
    const endpoints = target.endpoints;
    if (!sameJson(old?.retry?.budget, config.retry?.budget) || (this.budget === undefined) !== (config.retry?.budget === undefined)) {
      const b = config.retry?.budget;
      this.budget = b ? new RetryBudget(b, this.#env.clock) : undefined;
    }
    if (!sameJson(old?.serviceBreaker, config.serviceBreaker) || !this.serviceBreaker !== !config.serviceBreaker) {
      this.serviceBreaker?.dispose();
      const s = config.serviceBreaker;
      this.serviceBreaker = s ? this.#breaker(s, undefined) : undefined;
    }
    const bh = config.bulkhead;
    if (!bh) this.bulkhead = undefined;
    else if (this.bulkhead?.maxConcurrent !== bh.maxConcurrent || this.bulkhead.maxPending !== bh.maxPending) {
      this.bulkhead = new Bulkhead(bh.maxConcurrent, bh.maxPending);
    }
    const hedge = config.hedge;
    this.latency = hedge && hedge.delayMs === undefined ? (this.latency ?? new LatencyTracker(hedge.percentile, hedge.minSamples)) : undefined;

    // Endpoint breakers: rebuilt when settings change; kept per endpoint otherwise.
    if (!sameJson(old?.endpointBreaker, config.endpointBreaker)) {
      for (const b of this.#breakers.values()) b.dispose();
      this.#breakers.clear();
    }
    const keep = new Set(endpoints);
    for (const [e, b] of this.#breakers) {
      if (!keep.has(e)) {
        b.dispose();
        this.#breakers.delete(e);
      }
    }
    this.#endpointBreaker = config.endpointBreaker;

    if (!sameJson(old?.outlierDetection, config.outlierDetection)) {
      this.#outliers?.dispose();
      const od = config.outlierDetection;
      const probe = this.#env.connectProbe;
      this.#outliers = od
        ? new OutlierDetector<E>(
            od,
            this.#env.clock,
            this.#env.random,
            {
              ejected: (e, reason, durationMs, probing) => {
                trace('%s: ejected %s for %d ms (%s)%s', this.service, e.url, durationMs, reason, probing ? ', probing connects' : '');
                const until = probing ? ' or until a connect probe succeeds' : '';
                this.#health('endpoint-ejected', e.url, `${reason}; for ${durationMs} ms${until}`);
                this.refreshUsable();
              },
              restored: (e, by) => {
                trace('%s: restored %s (%s)', this.service, e.url, by);
                this.#health('endpoint-restored', e.url, by === 'probe' ? 'connect probe succeeded' : 'ejection time elapsed');
                this.refreshUsable();
              },
            },
            probe === undefined ? {} : { connectProbe: (e, timeoutMs) => probe({ host: e.host, port: e.port }, timeoutMs) },
          )
        : undefined;
    }
    this.#outliers?.setEndpoints(endpoints);
    this.refreshUsable();
  }

  /** Called when an attempt is sent to `endpoint` (takes the half-open probe slot). */
  attemptSent(endpoint: E): void {
    const b = this.#breakers.get(endpoint);
    if (b && b.state === 'half-open' && b.tryAcquire()) this.refreshUsable();
  }

  /** An attempt to `endpoint` was abandoned without an outcome (hedge loser, caller abort): frees a probe slot. */
  attemptCancelled(endpoint: E): void {
    const b = this.#breakers.get(endpoint);
    if (b && b.cancel()) this.refreshUsable();
  }

  /**
   * Feeds one attempt's outcome: `status` when response headers arrived,
   * otherwise a local-origin failure (connect failure, reset, per-try
   * timeout); `connectFailure` when nothing was sent (refused or unreachable).
   */
  attemptDone(endpoint: E, status: number | undefined, connectFailure = false): void {
    let b = this.#breakers.get(endpoint);
    if (b === undefined && this.#endpointBreaker !== undefined && endpoint.isDown?.('draining') !== true) {
      this.#breakers.set(endpoint, (b = this.#breaker(this.#endpointBreaker, endpoint)));
    }
    if (b) {
      if (status === undefined || (status >= 500 && b.settings.count5xx)) b.failure();
      else b.success();
    }
    this.#outliers?.report(endpoint, status, connectFailure);
  }

  /** Marks every endpoint's `circuit-open` and `ejected` down reasons from the breakers and the detector. */
  refreshUsable(): void {
    const target = this.#target;
    if (!target || this.#closed) return;
    const outliers = this.#outliers;
    for (const e of target.endpoints) {
      const b = this.#breakers.get(e);
      e.setDown('circuit-open', b !== undefined && !b.available);
      e.setDown('ejected', outliers?.isEjected(e) ?? false);
    }
  }

  /** Per-endpoint state for `snapshot()`. */
  describeEndpoint(endpoint: E): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const b = this.#breakers.get(endpoint);
    if (b) out.circuit = b.state;
    else if (this.#endpointBreaker !== undefined) out.circuit = 'closed';
    const o = this.#outliers?.describe(endpoint);
    if (o) out.outlier = o;
    return out;
  }

  /** Service-level state for `snapshot()`. */
  toJSON(): Record<string, unknown> {
    return {
      ...(this.serviceBreaker ? { circuit: this.serviceBreaker.state } : {}),
      ...(this.budget ? { retryBudget: this.budget.toJSON() } : {}),
      requeueBudget: this.requeues.toJSON(),
      ...(this.bulkhead
        ? { bulkhead: { active: this.bulkhead.active, pending: this.bulkhead.pending, rejected: this.bulkhead.rejected } }
        : {}),
      ...(this.#outliers ? { ejected: this.#outliers.ejectedCount } : {}),
    };
  }

  /** Runs the outlier detector's interval checks now (tests and tools). */
  runOutlierInterval(): void {
    this.#outliers?.runInterval();
  }

  /** Stops every timer (the service is gone or the mesh closed). */
  close(): void {
    this.#closed = true;
    for (const b of this.#breakers.values()) b.dispose();
    this.serviceBreaker?.dispose();
    this.#outliers?.dispose();
  }

  #breaker(settings: ResolvedBreaker, endpoint: E | undefined): CircuitBreaker {
    return new CircuitBreaker(settings, this.#env.clock, (state) => {
      trace('%s: circuit %s %s', this.service, endpoint?.url ?? '(service)', state);
      this.#health(`circuit-${state}`, endpoint?.url, undefined);
      if (endpoint) this.refreshUsable();
    });
  }

  #health(type: HealthEventType, endpoint: string | undefined, reason: string | undefined): void {
    this.#env.bus.health({
      type,
      service: this.service,
      time: this.#env.clock.wallNow(),
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(reason === undefined ? {} : { reason }),
    });
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, setsAsArrays) === JSON.stringify(b, setsAsArrays);
}

function setsAsArrays(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value] : value;
}
