/**
 * The catalogue of every error code proxyless throws, with what it means.
 *
 * Codes are stable: they are part of the public contract and never change
 * meaning. Match on `error.code`, never on the message.
 */
export const MeshErrorCodes = {
  /** The URL host names no configured service and `egress` is `'deny'`. */
  MESH_UNKNOWN_SERVICE: 'MESH_UNKNOWN_SERVICE',
  /** The service (or the subset a route chose) has no endpoint that may be picked. */
  MESH_NO_HEALTHY_ENDPOINT: 'MESH_NO_HEALTHY_ENDPOINT',
  /** The circuit breaker of the service is open: the request failed fast. */
  MESH_CIRCUIT_OPEN: 'MESH_CIRCUIT_OPEN',
  /** A deadline (per try or total) expired before a response arrived. */
  MESH_TIMEOUT: 'MESH_TIMEOUT',
  /**
   * The try waited its whole per-try deadline (`timeout.perTryMs`) for a free
   * connection of the endpoint's pool and was never sent: the client is
   * saturated, not the endpoint, so it counts against no breaker, ejection
   * or balancer, and it is not retried. Not in the original contract list;
   * see docs/timeouts.md.
   */
  MESH_POOL_TIMEOUT: 'MESH_POOL_TIMEOUT',
  /** The bulkhead of the service is full: the request was refused without being sent. */
  MESH_BULKHEAD_REJECTED: 'MESH_BULKHEAD_REJECTED',
  /** The peer's certificate does not carry an allowed workload identity. */
  MESH_PEER_IDENTITY: 'MESH_PEER_IDENTITY',
  /**
   * The request needs TLS (an `https://` URL, or a service with `requireTls`)
   * but the endpoint picked is plaintext; nothing was sent.
   */
  MESH_TLS_REQUIRED: 'MESH_TLS_REQUIRED',
  /** The service's credential hook (`auth`) failed or returned invalid headers; nothing was sent. */
  MESH_AUTH_FAILED: 'MESH_AUTH_FAILED',
  /** The mesh was closed; no more requests are accepted. */
  MESH_CLOSED: 'MESH_CLOSED',
  /**
   * The request reached an endpoint (or tried to) and failed at the transport
   * level: connection refused, reset, TLS failure. `cause` is the transport's
   * error. Not in the original contract list; see docs/architecture.md.
   */
  MESH_UPSTREAM_FAILURE: 'MESH_UPSTREAM_FAILURE',
  /** The request itself is not acceptable (for example a path that could leave the service). */
  MESH_INVALID_REQUEST: 'MESH_INVALID_REQUEST',
  /** A configuration was rejected; see {@link MeshConfigError.issues}. */
  MESH_CONFIG_INVALID: 'MESH_CONFIG_INVALID',
} as const;

/** One of the codes in {@link MeshErrorCodes}. */
export type MeshErrorCode = (typeof MeshErrorCodes)[keyof typeof MeshErrorCodes];
