import { Pool, type Dispatcher } from 'undici';
import type { BalancerEndpoint } from '../balancing/balancer.js';
import type { ResolvedConnection } from '../config/resolve.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import type { DownReason, LiveEndpoint } from '../endpoint/live-endpoint.js';
import { defaultTlsConnector, type TlsRuntime } from '../security/tls-runtime.js';
import { InterceptedDispatcher } from './intercepted-dispatcher.js';

/**
 * The runtime state of one endpoint: its descriptor, its connection pool
 * (created on first use) and live counters. It outlives config updates as
 * long as the endpoint stays, so pools, counters and balancer state carry
 * over.
 */
export class EndpointState implements BalancerEndpoint, LiveEndpoint {
  #endpoint: Endpoint;
  #connection: ResolvedConnection;
  #pool: Pool | undefined;
  readonly #transport: ((origin: string) => Dispatcher) | undefined;
  #external: Dispatcher | undefined;
  /** `connection.interceptors` in front of `#chainOver` (the current pool or transport dispatcher), when there are any. */
  #chain: Dispatcher | undefined;
  #chainOver: Dispatcher | undefined;
  #rampStart = 0;
  #rampEnd = 0;
  #rampMin = 1;
  #now: (() => number) | undefined;
  /** The service's TLS runtime (https endpoints only) and the material generation of `#pool`. */
  #tls: TlsRuntime | undefined;
  #generation = 0;
  /** Attempts in flight. */
  inflight = 0;
  /** Attempts sent in total. */
  attempts = 0;
  /** Attempts that failed (transport failure or 5xx). */
  failures = 0;
  #down: Set<DownReason> | undefined;
  /**
   * Called (control side) when the endpoint's down reasons change; the client
   * sets it to recompute its service's usable list.
   * @internal
   */
  onDownChange: ((endpoint: EndpointState) => void) | undefined;

  constructor(
    endpoint: Endpoint,
    connection: ResolvedConnection,
    tls?: TlsRuntime,
    transport?: (origin: string) => Dispatcher,
  ) {
    this.#endpoint = endpoint;
    this.#connection = connection;
    this.#tls = endpoint.protocol === 'https:' ? tls : undefined;
    this.#transport = transport;
  }

  get endpoint(): Endpoint {
    return this.#endpoint;
  }
  get url(): string {
    return this.#endpoint.url;
  }
  get protocol(): 'http:' | 'https:' {
    return this.#endpoint.protocol;
  }
  get host(): string {
    return this.#endpoint.host;
  }
  get port(): number {
    return this.#endpoint.port;
  }
  get weight(): number {
    const w = this.#endpoint.weight;
    if (this.#rampEnd === 0) return w;
    const t = this.#now!();
    if (t >= this.#rampEnd) {
      this.#rampEnd = 0;
      return w;
    }
    const progress = (t - this.#rampStart) / (this.#rampEnd - this.#rampStart);
    return w * (this.#rampMin + (1 - this.#rampMin) * Math.max(0, progress));
  }

  /** True while the endpoint's weight is ramping up (slow start). */
  get ramping(): boolean {
    return this.#rampEnd !== 0 && this.#now!() < this.#rampEnd;
  }

  /**
   * Slow start: the weight ramps linearly from `minFactor` × weight to the
   * full weight over `windowMs` from now.
   */
  startSlowStart(now: () => number, windowMs: number, minFactor: number): void {
    this.#now = now;
    this.#rampStart = now();
    this.#rampEnd = this.#rampStart + windowMs;
    this.#rampMin = minFactor;
  }
  get zone(): string | undefined {
    return this.#endpoint.zone;
  }
  get priority(): number {
    return this.#endpoint.priority;
  }
  get labels(): Readonly<Record<string, string>> {
    return this.#endpoint.labels;
  }

  /** True when the endpoint's dispatcher is its own undici Pool (not one from the client's `transport` option). */
  get pooled(): boolean {
    return this.#transport === undefined;
  }

  /** True when nothing keeps the endpoint from being picked. */
  get up(): boolean {
    return this.#down === undefined || this.#down.size === 0;
  }

  /** Why the endpoint is not picked (empty when it may be). */
  get downReasons(): readonly DownReason[] {
    return this.#down ? [...this.#down] : [];
  }

  /** True when `reason` is one of the endpoint's down reasons. */
  isDown(reason: DownReason): boolean {
    return this.#down?.has(reason) ?? false;
  }

  /**
   * Sets or clears one reason for not picking the endpoint (control side:
   * health checks, outlier detection, breakers). Returns true when it
   * changed; the service's usable list is then recomputed and handed to the
   * balancer. Calling it with an unchanged state costs a set lookup, so a
   * breaker or outlier detector may call it from the request path on each
   * transition.
   */
  setDown(reason: DownReason, down: boolean): boolean {
    if (down) {
      if (this.#down?.has(reason)) return false;
      (this.#down ??= new Set()).add(reason);
    } else if (!this.#down?.delete(reason)) return false;
    this.onDownChange?.(this);
    return true;
  }

  /**
   * Applies a new descriptor and pool settings for the same URL (control
   * side). Returns the old pool when the settings changed, for the caller to
   * drain; in-flight attempts finish on it. New interceptors alone keep the
   * pool (its sockets stay warm): new tries go through the new chain, tries
   * in flight finish on the old one.
   */
  reconfigure(endpoint: Endpoint, connection: ResolvedConnection, tls?: TlsRuntime): Pool | undefined {
    this.#endpoint = endpoint;
    const nextTls = endpoint.protocol === 'https:' ? tls : undefined;
    if (!sameInterceptors(connection.interceptors, this.#connection.interceptors)) this.#chainOver = this.#chain = undefined;
    if (samePool(connection, this.#connection) && nextTls === this.#tls) {
      this.#connection = connection;
      return undefined;
    }
    this.#connection = connection;
    this.#tls = nextTls;
    const old = this.#pool;
    this.#pool = undefined;
    return old;
  }

  /**
   * What each try to the endpoint is dispatched on: {@link EndpointState.direct}
   * with the service's `connection.interceptors` in front (composed once
   * per pool, not per request), or the direct dispatcher itself when there
   * are none.
   */
  pool(): Dispatcher {
    const direct = this.direct();
    const interceptors = this.#connection.interceptors;
    if (interceptors.length === 0) return direct;
    if (this.#chainOver !== direct) {
      this.#chain = new InterceptedDispatcher(direct, interceptors);
      this.#chainOver = direct;
    }
    return this.#chain!;
  }

  /**
   * The endpoint's dispatcher without the interceptors (what health checks
   * use, as Envoy's checks skip the HTTP filter chain): its own undici Pool,
   * created on first use, or the one the client's `transport` option
   * returns (never closed by the mesh). With TLS, a pool belongs to one
   * material generation: after a rotation the next call opens a new pool
   * for new requests and drains the old one (requests in flight finish on it).
   */
  direct(): Dispatcher {
    if (this.#transport) return (this.#external ??= this.#transport(this.#endpoint.url));
    const tls = this.#tls;
    if (this.#pool !== undefined && (tls === undefined || this.#generation === tls.generation)) return this.#pool;
    this.#pool?.close().catch(() => {});
    const c = this.#connection;
    this.#generation = tls?.generation ?? 0;
    this.#pool = new Pool(this.#endpoint.url, {
      connections: c.maxConnections,
      pipelining: c.pipelining,
      keepAliveTimeout: c.keepAliveTimeoutMs,
      ...(tls
        ? { connect: tls.connector(this.#endpoint, c.connectTimeoutMs) }
        : this.#endpoint.protocol === 'https:'
          ? { connect: defaultTlsConnector(c.connectTimeoutMs) }
          : { connectTimeout: c.connectTimeoutMs }),
    });
    return this.#pool;
  }

  /** Destroys the pool at once: its requests fail and its sockets close. */
  async destroy(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.destroy();
  }

  /** Closes the pool once in-flight requests finish. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await pool.close();
  }

  /** Plain JSON for `snapshot()`. */
  toJSON(): Record<string, unknown> {
    const e = this.#endpoint;
    return {
      url: e.url,
      weight: e.weight,
      effectiveWeight: this.weight,
      zone: e.zone ?? null,
      priority: e.priority,
      labels: { ...e.labels },
      inflight: this.inflight,
      attempts: this.attempts,
      failures: this.failures,
      connected: this.#pool !== undefined || this.#external !== undefined,
      down: this.downReasons,
    };
  }
}

/** True when two settings open the same pool (interceptors aside: they sit in front of it). */
function samePool(a: ResolvedConnection, b: ResolvedConnection): boolean {
  return (
    a.maxConnections === b.maxConnections &&
    a.pipelining === b.pipelining &&
    a.connectTimeoutMs === b.connectTimeoutMs &&
    a.keepAliveTimeoutMs === b.keepAliveTimeoutMs
  );
}

function sameInterceptors(a: ResolvedConnection['interceptors'], b: ResolvedConnection['interceptors']): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}
