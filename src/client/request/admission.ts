import type { Dispatcher } from 'undici';
import { resolveRequestResilience, type ResolvedResilience } from '../../config/resilience.js';
import { MeshConfigError, isMeshError, type MeshError } from '../../errors/mesh-error.js';
import type { Bulkhead } from '../../resilience/bulkhead.js';
import type { CircuitBreaker } from '../../resilience/endpoint-breaker.js';
import type { ServiceRuntime } from '../service-runtime.js';
import { bulkheadRejectedError, circuitOpenError } from './errors.js';

/*
 * The admission stage of a service request, after routing and fault
 * injection and before its first attempt: its policies (the service's, with
 * the request's overrides), the service's bulkhead, then its circuit
 * breaker. The engine (mesh-request.ts) calls these in that order and keeps
 * what they hand out (a bulkhead slot, a breaker probe) until it finishes.
 */

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
