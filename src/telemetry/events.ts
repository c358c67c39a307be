import type { ConfigIssue } from '../errors/mesh-error.js';

/** Fields every event carries. */
export interface MeshEventBase {
  /** The service concerned (for egress traffic: the host it went to). */
  readonly service: string;
  /** When it happened: milliseconds since the epoch. */
  readonly time: number;
}

/**
 * Types of {@link HealthEvent}. Besides endpoint and breaker transitions:
 * `panic` (a service entered or left panic mode: too few endpoints up, all
 * used), `discovery-failed` (a discovery source failed; the last known good
 * set or a fallback source serves), `discovery-recovered` (it is back) and
 * `discovery-rejected` (an entry was invalid, or an empty set was ignored;
 * `source` and `key` name it).
 */
export type HealthEventType =
  | 'endpoint-added'
  | 'endpoint-removed'
  | 'endpoint-healthy'
  | 'endpoint-unhealthy'
  | 'endpoint-ejected'
  | 'endpoint-restored'
  | 'circuit-open'
  | 'circuit-half-open'
  | 'circuit-closed'
  | 'panic'
  | 'peer-identity-rejected'
  | 'tls-updated'
  | 'tls-update-rejected'
  | 'discovery-failed'
  | 'discovery-recovered'
  | 'discovery-rejected';

/** A change in what the mesh knows of a service's endpoints. */
export interface HealthEvent extends MeshEventBase {
  /** What happened; see {@link HealthEventType}. */
  readonly type: HealthEventType;
  /** The endpoint URL, where one endpoint is concerned. */
  readonly endpoint?: string;
  /** Why, in words, when there is more to say. */
  readonly reason?: string;
  /** For `discovery-*` events: the provider's source name (`file:endpoints.json`). */
  readonly source?: string;
  /** For `discovery-rejected` events about one entry: its key (`orders.2`, an etcd key). */
  readonly key?: string;
}

/** One logical request finished (successfully or not). */
export interface RequestMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'request';
  /** The endpoint of the last attempt, when one was chosen. */
  readonly endpoint?: string;
  /** Upper-case method. */
  readonly method: string;
  /** The response status, when a response was received. */
  readonly status?: number;
  /** The error code (a {@link MeshError} code) when the request failed. */
  readonly error?: string;
  /** From the call to the end of the response body (or the failure), in milliseconds. */
  readonly durationMs: number;
  /** How many attempts were sent. */
  readonly attempts: number;
  /** True for traffic to a host that is not a configured service (egress 'allow'). */
  readonly egress?: boolean;
}

/** One attempt (a single try against one endpoint) finished. */
export interface AttemptMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'attempt';
  /** The endpoint URL this attempt went to. */
  readonly endpoint: string;
  /** Upper-case method. */
  readonly method: string;
  /** The response status, when response headers arrived. */
  readonly status?: number;
  /** The error code or name when the attempt failed. */
  readonly error?: string;
  /** From sending to the response headers or the failure, in milliseconds. */
  readonly durationMs: number;
  /** 0 for the first attempt, 1 for the first retry or hedge, ... */
  readonly attempt: number;
}

/** A retry was scheduled. */
export interface RetryMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'retry';
  /** Why: the `retryOn` condition that matched (e.g. `reset`, `5xx`). */
  readonly reason: string;
  /** The backoff before the retry is sent, in milliseconds. */
  readonly delayMs: number;
  /** The index of the attempt that will be sent (1 for the first retry). */
  readonly attempt: number;
}

/** A retry was wanted but the retry budget had none left. */
export interface RetryBudgetExhaustedMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'retry-budget-exhausted';
}

/** A hedged (backup) attempt was sent. */
export interface HedgeMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'hedge';
  /** The endpoint the hedge went to. */
  readonly endpoint?: string;
}

/** A request was refused without being sent (bulkhead full, circuit open...). */
export interface RejectedMetricEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'rejected';
  /** The {@link MeshError} code of the refusal. */
  readonly reason: string;
}

/** A measurement of the request path. */
export type MetricEvent =
  | RequestMetricEvent
  | AttemptMetricEvent
  | RetryMetricEvent
  | RetryBudgetExhaustedMetricEvent
  | HedgeMetricEvent
  | RejectedMetricEvent;

/** A configuration was applied: it now serves new requests. */
export interface ConfigAppliedEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'applied';
  /** The new configuration version (1 at construction, then +1 per applied update). */
  readonly version: number;
}

/** A configuration was rejected: nothing of it was applied. */
export interface ConfigRejectedEvent extends MeshEventBase {
  /** Discriminant. */
  readonly type: 'rejected';
  /** Every problem found, each with its path. */
  readonly issues: readonly ConfigIssue[];
}

/** A configuration was applied or rejected. `service` is `'*'` for a whole-mesh configuration. */
export type ConfigEvent = ConfigAppliedEvent | ConfigRejectedEvent;

/** The event map of {@link MeshClient}: `mesh.on('health', fn)` and so on. */
export interface MeshEvents {
  /** Endpoint and breaker state changes. */
  health: (event: HealthEvent) => void;
  /** Request, attempt, retry, hedge and refusal measurements. */
  metric: (event: MetricEvent) => void;
  /** Configuration applied or rejected. */
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
