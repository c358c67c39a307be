import type { Dispatcher } from 'undici';
import type { Endpoint } from './endpoint.js';

/**
 * Why an endpoint is not picked. Each subsystem sets and clears its own
 * reason on the endpoint (`setDown`): active health checking sets
 * `unhealthy`, outlier detection `ejected`, the endpoint breaker
 * `circuit-open`, removal `draining`. Other strings are allowed for
 * extensions.
 */
export type DownReason = 'unhealthy' | 'ejected' | 'circuit-open' | 'draining' | (string & {});

/**
 * An endpoint of a service as the control side sees it: its descriptor, the
 * attempts in flight, its down reasons and its dispatcher. Routing (pickers)
 * and health checking depend on this interface; the client's `EndpointState`
 * implements it.
 */
export interface LiveEndpoint extends Endpoint {
  /** Attempts sent to this endpoint that have not finished yet. */
  readonly inflight: number;
  /** Attempts sent in total. */
  readonly attempts: number;
  /** True when nothing keeps the endpoint from being picked. */
  readonly up: boolean;
  /** Why the endpoint is not picked (empty when it may be). */
  readonly downReasons: readonly DownReason[];
  /** True when `reason` is one of the endpoint's down reasons. */
  isDown(reason: DownReason): boolean;
  /** Sets or clears one down reason; true when that changed anything. */
  setDown(reason: DownReason, down: boolean): boolean;
  /** The dispatcher that carries requests to the endpoint, with the service's `connection.interceptors` in front. */
  pool(): Dispatcher;
  /** The endpoint's dispatcher without the interceptors (health checks use it, as Envoy's checks skip the HTTP filter chain). */
  direct(): Dispatcher;
}
