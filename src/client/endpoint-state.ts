import { Pool } from 'undici';
import type { BalancerEndpoint } from '../balancing/balancer.js';
import type { ResolvedConnection } from '../config/resolve.js';
import type { Endpoint } from '../discovery/endpoint.js';

/**
 * Why an endpoint is not picked. Each subsystem sets and clears its own
 * reason on the endpoint (`EndpointState.setDown`): active health checking sets
 * `unhealthy`, outlier detection `ejected`, the endpoint breaker
 * `circuit-open`, removal `draining`. Other strings are allowed for
 * extensions.
 */
export type DownReason = 'unhealthy' | 'ejected' | 'circuit-open' | 'draining' | (string & {});

/**
 * The runtime state of one endpoint: its descriptor, its connection pool
 * (created on first use) and live counters. It outlives config updates as
 * long as the endpoint stays, so pools, counters and balancer state carry
 * over.
 */
export class EndpointState implements BalancerEndpoint {
  #endpoint: Endpoint;
  #connection: ResolvedConnection;
  #pool: Pool | undefined;
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

  constructor(endpoint: Endpoint, connection: ResolvedConnection) {
    this.#endpoint = endpoint;
    this.#connection = connection;
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
    return this.#endpoint.weight;
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

  /** True when nothing keeps the endpoint from being picked. */
  get up(): boolean {
    return this.#down === undefined || this.#down.size === 0;
  }

  /** Why the endpoint is not picked (empty when it may be). */
  get downReasons(): readonly DownReason[] {
    return this.#down ? [...this.#down] : [];
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
   * drain; in-flight attempts finish on it.
   */
  reconfigure(endpoint: Endpoint, connection: ResolvedConnection): Pool | undefined {
    this.#endpoint = endpoint;
    if (sameConnection(connection, this.#connection)) return undefined;
    this.#connection = connection;
    const old = this.#pool;
    this.#pool = undefined;
    return old;
  }

  /** The endpoint's pool, created on first use. */
  pool(): Pool {
    if (this.#pool === undefined) {
      const c = this.#connection;
      this.#pool = new Pool(this.#endpoint.url, {
        connections: c.maxConnections,
        pipelining: c.pipelining,
        connectTimeout: c.connectTimeoutMs,
        keepAliveTimeout: c.keepAliveTimeoutMs,
      });
    }
    return this.#pool;
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
      zone: e.zone ?? null,
      priority: e.priority,
      labels: { ...e.labels },
      inflight: this.inflight,
      attempts: this.attempts,
      failures: this.failures,
      connected: this.#pool !== undefined,
      down: this.downReasons,
    };
  }
}

function sameConnection(a: ResolvedConnection, b: ResolvedConnection): boolean {
  return (
    a.maxConnections === b.maxConnections &&
    a.pipelining === b.pipelining &&
    a.connectTimeoutMs === b.connectTimeoutMs &&
    a.keepAliveTimeoutMs === b.keepAliveTimeoutMs
  );
}
