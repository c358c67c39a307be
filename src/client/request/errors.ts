import { MeshError, isMeshError } from '../../errors/mesh-error.js';
import type { Bulkhead } from '../../resilience/bulkhead.js';

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
 * The {@link MeshError} a transport failure of an attempt reaches the caller
 * as: a peer-identity refusal keeps its code, undici's refusal of the
 * request itself is `MESH_INVALID_REQUEST`, anything else
 * `MESH_UPSTREAM_FAILURE`; the transport error is the `cause`.
 */
export function upstreamError(error: Error, service: string, endpoint: string, committed: boolean, attempts: number): MeshError {
  const phase = committed ? 'while streaming the response body' : 'before a response arrived';
  if (isMeshError(error, 'MESH_PEER_IDENTITY')) {
    return new MeshError('MESH_PEER_IDENTITY', error.message, { cause: error, service, endpoint, attempts });
  }
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
    return new MeshError('MESH_INVALID_REQUEST', `request to ${service} refused by undici: ${error.message}`, {
      cause: error,
      service,
      attempts,
    });
  }
  return new MeshError('MESH_UPSTREAM_FAILURE', `request to ${service} (${endpoint}) failed ${phase}: ${error.message}`, {
    cause: error,
    service,
    endpoint,
    attempts,
  });
}

/** A try that waited its whole per-try time for a free connection of the endpoint's pool and was never sent. */
export function poolTimeoutError(index: number, service: string, endpoint: string | undefined, ms: number, attempts: number): MeshError {
  return new MeshError(
    'MESH_POOL_TIMEOUT',
    `try ${index + 1} to ${service} (${endpoint}) waited ${ms} ms (timeout.perTryMs) for a free connection of the endpoint's pool and was not sent`,
    { service, endpoint, attempts },
  );
}

/** A try that got no response within its per-try time. */
export function tryTimeoutError(index: number, service: string, endpoint: string | undefined, ms: number, attempts: number): MeshError {
  return new MeshError('MESH_TIMEOUT', `try ${index + 1} to ${service} (${endpoint}) got no response within ${ms} ms (timeout.perTryMs)`, {
    service,
    endpoint,
    attempts,
  });
}

/** The request outlived its total deadline. */
export function deadlineError(service: string, totalMs: number, endpoint: string | undefined, attempts: number): MeshError {
  return new MeshError('MESH_TIMEOUT', `request to ${service} exceeded its deadline of ${totalMs} ms (timeout.totalMs)`, {
    service,
    endpoint,
    attempts,
  });
}

/** The service's bulkhead is full, its queue too. */
export function bulkheadRejectedError(service: string, bulkhead: Bulkhead): MeshError {
  return new MeshError(
    'MESH_BULKHEAD_REJECTED',
    `service "${service}" has ${bulkhead.maxConcurrent} requests in flight and ${bulkhead.pending} waiting (its bulkhead limits)`,
    { service, attempts: 0 },
  );
}

/** The service's circuit breaker refused the request. */
export function circuitOpenError(service: string, state: string): MeshError {
  return new MeshError('MESH_CIRCUIT_OPEN', `the circuit breaker of service "${service}" is ${state}`, { service, attempts: 0 });
}

/** The destination (`"name"` or a description) has no endpoint that can be picked. */
export function noEndpointError(destination: string, service: string, attempts: number): MeshError {
  return new MeshError('MESH_NO_HEALTHY_ENDPOINT', `${destination} of service "${service}" has no endpoint that can be picked`, {
    service,
    attempts,
  });
}

/** A TLS-only request met a plaintext endpoint: nothing is sent. */
export function tlsRequiredError(service: string, endpoint: string, attempts: number): MeshError {
  return new MeshError('MESH_TLS_REQUIRED', `service "${service}" requires TLS but endpoint ${endpoint} is plaintext`, {
    service,
    endpoint,
    attempts,
  });
}
