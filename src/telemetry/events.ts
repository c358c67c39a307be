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
  | 'discovery-failed'
  | 'discovery-recovered'
  | 'discovery-rejected';

/** A change in what the mesh knows of a service's endpoints. */
export interface HealthEvent extends MeshEventBase {
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
  readonly type: 'attempt';
  readonly endpoint: string;
  readonly method: string;
  readonly status?: number;
  readonly error?: string;
  /** From sending to the response headers or the failure, in milliseconds. */
  readonly durationMs: number;
  /** 0 for the first attempt, 1 for the first retry or hedge, ... */
  readonly attempt: number;
}

/** A retry was scheduled. */
export interface RetryMetricEvent extends MeshEventBase {
  readonly type: 'retry';
  readonly reason: string;
  readonly delayMs: number;
  readonly attempt: number;
}

/** A retry was wanted but the retry budget had none left. */
export interface RetryBudgetExhaustedMetricEvent extends MeshEventBase {
  readonly type: 'retry-budget-exhausted';
}

/** A hedged (backup) attempt was sent. */
export interface HedgeMetricEvent extends MeshEventBase {
  readonly type: 'hedge';
  readonly endpoint?: string;
}

/** A request was refused without being sent (bulkhead full, circuit open...). */
export interface RejectedMetricEvent extends MeshEventBase {
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

/** A configuration was applied or rejected. */
export type ConfigEvent =
  | { readonly type: 'applied'; readonly service: string; readonly time: number; readonly version: number }
  | {
      readonly type: 'rejected';
      readonly service: string;
      readonly time: number;
      readonly issues: readonly ConfigIssue[];
    };

/** The event map of {@link MeshClient}: `mesh.on('health', fn)` and so on. */
export interface MeshEvents {
  health: (event: HealthEvent) => void;
  metric: (event: MetricEvent) => void;
  config: (event: ConfigEvent) => void;
}

/**
 * Receives every event the mesh emits. All members are optional. An observer
 * that throws never breaks a request: the error is reported once through the
 * logger and counted in `snapshot().observerErrors`.
 */
export interface Observer {
  onHealth?(event: HealthEvent): void;
  onMetric?(event: MetricEvent): void;
  onConfig?(event: ConfigEvent): void;
}
