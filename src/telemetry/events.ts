import type { ConfigIssue } from '../errors/mesh-error.js';

/** Fields every event carries. */
export interface MeshEventBase {
  /** The service concerned (for egress traffic: the host it went to). */
  readonly service: string;
  /** When it happened: milliseconds since the epoch. */
  readonly time: number;
}

/** Types of {@link HealthEvent}. */
export type HealthEventType = HealthEvent['type'];

/** Health event types that concern one endpoint. */
export type EndpointHealthEventType =
  | 'endpoint-added'
  | 'endpoint-removed'
  | 'endpoint-healthy'
  | 'endpoint-unhealthy'
  | 'endpoint-ejected'
  | 'endpoint-restored';

/**
 * Fields any health event may carry, so listeners can read them without
 * narrowing first; set only where the event type says so.
 */
export interface HealthEventDetails extends MeshEventBase {
  /** The discovery source concerned (`file:endpoints.json`), on `discovery-*` events. */
  readonly source?: string;
  /** The entry concerned (`orders.2`, an etcd key), on `discovery-rejected` events about one entry. */
  readonly key?: string;
}

/**
 * An endpoint appeared or disappeared (discovery, config), passed or failed
 * active health checks, or was ejected by outlier detection and later
 * restored.
 */
export interface EndpointHealthEvent extends HealthEventDetails {
  /** What happened to the endpoint. */
  readonly type: EndpointHealthEventType;
  /**
   * The endpoint URL: always set for these types (typed optional so that code
   * raising health events generically, with `type: HealthEventType`, type-checks).
   */
  readonly endpoint?: string;
  /** Why, in words, when there is more to say (e.g. `5 consecutive 5xx`). */
  readonly reason?: string;
  /** For `endpoint-ejected`: how long the ejection lasts, in milliseconds. */
  readonly durationMs?: number;
}

/**
 * A circuit breaker changed state. `endpoint` names the endpoint of a
 * per-endpoint breaker; it is absent for a service-wide breaker.
 */
export interface CircuitHealthEvent extends HealthEventDetails {
  /** The state the breaker entered. */
  readonly type: 'circuit-open' | 'circuit-half-open' | 'circuit-closed';
  /** The endpoint of a per-endpoint breaker; absent for a service-wide one. */
  readonly endpoint?: string;
  /** Why, in words (e.g. `5 consecutive failures`). */
  readonly reason?: string;
}

/**
 * Discovery: a source failed and the last known good set (or a fallback
 * source) serves (`discovery-failed`), it is back (`discovery-recovered`), or
 * an entry was invalid or an empty set was ignored (`discovery-rejected`,
 * with `source` and `key` naming it).
 */
export interface DiscoveryHealthEvent extends HealthEventDetails {
  /** What happened. */
  readonly type: 'discovery-failed' | 'discovery-recovered' | 'discovery-rejected';
  /** Why, in words. */
  readonly reason?: string;
  /** Not set: discovery concerns the service (typed loosely so generic emitters type-check). */
  readonly endpoint?: string;
}

/**
 * The service entered (or left, `active: false`) panic mode: too few of its
 * endpoints are usable, so the balancer spreads load over all of them
 * (Envoy's panic threshold).
 */
export interface PanicHealthEvent extends HealthEventDetails {
  /** Panic mode was entered or left. */
  readonly type: 'panic';
  /** True on entering panic mode, false on leaving it. Default true. */
  readonly active?: boolean;
  /** Usable endpoints when the event was raised. */
  readonly usable?: number;
  /** All endpoints of the service. */
  readonly total?: number;
  /** Why, in words. */
  readonly reason?: string;
  /** Not set: panic concerns the whole service (typed loosely so generic emitters type-check). */
  readonly endpoint?: string;
}

/**
 * TLS and identity: a peer's certificate did not carry an allowed identity
 * (`peer-identity-rejected`, with `endpoint`), new TLS material was applied
 * (`tls-updated`) or refused and the current material kept
 * (`tls-update-rejected`).
 */
export interface SecurityHealthEvent extends HealthEventDetails {
  /** What happened. */
  readonly type: 'peer-identity-rejected' | 'tls-updated' | 'tls-update-rejected';
  /** The endpoint, for `peer-identity-rejected`. */
  readonly endpoint?: string;
  /** Why, in words (e.g. the rejected SPIFFE ID, the material's generation and expiry). */
  readonly reason?: string;
}

/**
 * A change in what the mesh knows of a service's endpoints: a discriminated
 * union on `type` ({@link EndpointHealthEvent}, {@link CircuitHealthEvent},
 * {@link PanicHealthEvent}, {@link SecurityHealthEvent}, {@link DiscoveryHealthEvent}).
 */
export type HealthEvent =
  | EndpointHealthEvent
  | CircuitHealthEvent
  | PanicHealthEvent
  | SecurityHealthEvent
  | DiscoveryHealthEvent;

/** A health event before its `time` is stamped (the union kept discriminated). */
export type HealthEventInput = HealthEvent extends infer E ? (E extends HealthEvent ? Omit<E, 'time'> : never) : never;

/** Fields of the metric events that belong to one logical request. */
export interface RequestEventBase extends MeshEventBase {
  /**
   * Identifies the logical request within this process (increasing from 1),
   * so a listener can group its attempts, retries and outcome exactly even
   * when many requests run at once.
   */
  readonly requestId?: number;
}

/**
 * How a logical request ended:
 * - `success`: a response below 500 was handed over and its body read to the end;
 * - `server_error`: the same with a 5xx status (after retries);
 * - `failure`: the mesh or the transport failed it (`error` says how: a
 *   {@link MeshError} code, `MESH_CLOSED` included when a shutdown cut it);
 * - `cancelled`: the caller gave up (an `AbortSignal`, `body.cancel()` or
 *   destroying the body, `controller.abort()` by a dispatcher user), before or
 *   after the response headers. Not a failure: it feeds no breaker, outlier
 *   detector, balancer failure count or retry budget.
 */
export type RequestOutcome = 'success' | 'server_error' | 'failure' | 'cancelled';

/** One logical request finished (successfully or not). */
export interface RequestMetricEvent extends RequestEventBase {
  /** Discriminant. */
  readonly type: 'request';
  /** The endpoint of the last attempt, when one was chosen. */
  readonly endpoint?: string;
  /** Upper-case method. */
  readonly method: string;
  /** The response status, when a response was received. */
  readonly status?: number;
  /**
   * How the request ended (the `proxyless.outcome` attribute of the
   * `proxyless.requests` metric): see {@link RequestOutcome}.
   */
  readonly outcome: RequestOutcome;
  /** The error code (a {@link MeshError} code) when the request failed (outcome `failure`); absent when cancelled. */
  readonly error?: string;
  /** From the call to the end of the response body (or the failure or cancel), in milliseconds. */
  readonly durationMs: number;
  /** How many attempts were sent. */
  readonly attempts: number;
  /** True for traffic to a host that is not a configured service (egress 'allow'). */
  readonly egress?: boolean;
}

/** One attempt (a single try against one endpoint) finished. */
export interface AttemptMetricEvent extends RequestEventBase {
  /** Discriminant. */
  readonly type: 'attempt';
  /** The endpoint URL (for egress traffic: the origin). */
  readonly endpoint: string;
  /** Upper-case method. */
  readonly method: string;
  /** The response status, when response headers arrived. */
  readonly status?: number;
  /** The transport error's code (e.g. `ECONNREFUSED`) when the attempt failed. */
  readonly error?: string;
  /** From sending to the response headers or the failure, in milliseconds. */
  readonly durationMs: number;
  /** 0 for the first attempt, 1 for the first retry or hedge, ... */
  readonly attempt: number;
}

/** A retry was scheduled. */
export interface RetryMetricEvent extends RequestEventBase {
  /** Discriminant. */
  readonly type: 'retry';
  /** What made the attempt retryable (e.g. `connect-failure`, `reset`, `gateway-error`). */
  readonly reason: string;
  /** The backoff before the retry, in milliseconds. */
  readonly delayMs: number;
  /** The attempt the retry will be (1 for the first retry). */
  readonly attempt: number;
}

/** A retry was wanted but the retry budget had none left. */
export interface RetryBudgetExhaustedMetricEvent extends RequestEventBase {
  /** Discriminant. */
  readonly type: 'retry-budget-exhausted';
}

/** A hedged (backup) attempt was sent. */
export interface HedgeMetricEvent extends RequestEventBase {
  /** Discriminant. */
  readonly type: 'hedge';
  /** The endpoint the hedged attempt went to, when one was picked. */
  readonly endpoint?: string;
}

/** A request was refused without being sent (bulkhead full, circuit open...). */
export interface RejectedMetricEvent extends RequestEventBase {
  /** Discriminant. */
  readonly type: 'rejected';
  /** The {@link MeshError} code of the refusal. */
  readonly reason: string;
}

/**
 * A retry condition matched but the retry was not sent. `reason`: `budget`
 * (see also {@link RetryBudgetExhaustedMetricEvent}), `non-idempotent` (the
 * method is not retried once something was sent), `body-not-replayable` (a
 * stream body), `deadline` (the backoff would outlive the total deadline),
 * `attempts` (the limit was reached), `retry-after` (the server asked for a
 * wait above `retryAfterMaxMs`) or `cancelled`.
 */
export interface RetryRefusedMetricEvent extends RequestEventBase {
  /** Discriminant. */
  readonly type: 'retry-refused';
  /** Why the retry was not sent (see above). */
  readonly reason: string;
  /** The attempt that would have been sent (1 for the first retry). */
  readonly attempt?: number;
}

/** A discovery provider delivered an endpoint set for a service. */
export interface DiscoveryUpdateMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'discovery-update';
  /** The provider's name (e.g. `file`, `dns`). */
  readonly provider: string;
  /** How many endpoints the set holds. */
  readonly endpoints: number;
}

/** A discovery provider failed; the last known good set keeps serving. */
export interface DiscoveryErrorMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'discovery-error';
  /** The provider's name (e.g. `file`, `dns`). */
  readonly provider: string;
  /** The error code or name. */
  readonly error: string;
}

/** A measurement of the request path: a discriminated union on `type`. */
export type MetricEvent =
  | RequestMetricEvent
  | AttemptMetricEvent
  | RetryMetricEvent
  | RetryBudgetExhaustedMetricEvent
  | RetryRefusedMetricEvent
  | HedgeMetricEvent
  | RejectedMetricEvent
  | DiscoveryUpdateMetricEvent
  | DiscoveryErrorMetricEvent;

/** Types of {@link MetricEvent}. */
export type MetricEventType = MetricEvent['type'];

/** A configuration was applied: `version` is now serving. `service` is `'*'`. */
export interface ConfigAppliedEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'applied';
  /** The version now serving (see `snapshot().version`). */
  readonly version: number;
  /** The config source it came from (e.g. `file:mesh.yaml`); absent for `updateConfig` and the constructor. */
  readonly source?: string;
}

/** A configuration was rejected whole; the old one keeps serving. `service` is `'*'`. */
export interface ConfigRejectedEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'rejected';
  /** Every problem found, each naming its path (`''` when the source itself could not be read or parsed). */
  readonly issues: readonly ConfigIssue[];
  /** The config source it came from (e.g. `file:mesh.yaml`); absent for `updateConfig`. */
  readonly source?: string;
}

/** A configuration was applied or rejected: a discriminated union on `type`. */
export type ConfigEvent = ConfigAppliedEvent | ConfigRejectedEvent;

/** The event map of {@link MeshClient}: `mesh.on('health', fn)` and so on. */
export interface MeshEvents {
  /** Endpoint and breaker state changes: {@link HealthEvent}. */
  health: (event: HealthEvent) => void;
  /** Measurements of the request path and discovery: {@link MetricEvent}. */
  metric: (event: MetricEvent) => void;
  /** Configuration applied or rejected: {@link ConfigEvent}. */
  config: (event: ConfigEvent) => void;
}

/**
 * Receives every event the mesh emits. All members are optional. An observer
 * that throws never breaks a request: the error is reported once through the
 * logger and counted in `snapshot().observerErrors`.
 */
export interface Observer {
  /** Receives every {@link HealthEvent}. */
  onHealth?(event: HealthEvent): void;
  /** Receives every {@link MetricEvent}. */
  onMetric?(event: MetricEvent): void;
  /** Receives every {@link ConfigEvent}. */
  onConfig?(event: ConfigEvent): void;
}
