/**
 * The public option types of the configuration. Every type here (and in the
 * feature modules: routing, security, health, faults, endpoints) is the static
 * type of a schema in src/config/schema.ts, the one definition from which the
 * runtime validation and the published JSON Schema also come.
 */
import type { Static } from '@sinclair/typebox';
import type { Dispatcher } from 'undici';
import type { Observer } from '../telemetry/events.js';
import type { TelemetryOptions } from '../telemetry/options.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import type * as S from './schema.js';
import type { LoadBalancerChoice } from './schema.js';

export type { LoadBalancerChoice } from './schema.js';

/**
 * The load-balancing policy of a service: a registered policy name, or an
 * object with `policy` and that policy's options.
 */
export type LoadBalancerOption = string | LoadBalancerChoice;

/** Connection settings for the pool of each endpoint. */
export interface ConnectionOptions extends Static<typeof S.CONNECTION_SCHEMA> {}

/** Settings a service can set, and `defaults` can set for every service. */
export interface SharedServiceOptions extends Static<typeof S.SHARED_SERVICE_SCHEMA> {}

/** The configuration of one service. */
export interface ServiceOptions extends Static<typeof S.SERVICE_SCHEMA> {}

/** Settings applied to every service unless the service sets its own. */
export type DefaultsOptions = SharedServiceOptions;

/**
 * The configuration of a {@link MeshClient}: everything `updateConfig` can
 * change. Defined by the schema in src/config/schema.ts, which is also
 * published as `proxyless/schema.json`.
 */
export interface MeshConfig extends Static<typeof S.MESH_CONFIG_SCHEMA> {}

/** Options of `new MeshClient(options)`: the {@link MeshConfig} plus process-level hooks. */
export interface MeshClientOptions extends MeshConfig {
  /** Receivers of every health, metric and config event. */
  observers?: Observer[];
  /** A pino-style logger. Default: silent, except through `NODE_DEBUG=proxyless`. */
  logger?: Logger;
  /** A random source in [0, 1) for balancers and jitter. Default `Math.random`; seed it in tests. */
  random?: () => number;
  /** The clock for timers and durations. Default: the real one. */
  clock?: Clock;
  /** OpenTelemetry tracing and metrics; see {@link TelemetryOptions}. No-op until an SDK is installed. */
  telemetry?: TelemetryOptions;
  /**
   * Replaces the transport: called once per endpoint origin (and per egress
   * origin) to get the undici Dispatcher that carries its requests, e.g. a
   * `MockAgent`'s pool in tests. Dispatchers it returns are not closed by the
   * mesh. Default: one undici `Pool` per endpoint, one `Agent` for egress.
   */
  transport?: (origin: string) => Dispatcher;
}

// ---- resilience (issue 4): one block per policy; `false` turns a policy off ----

/**
 * When a failed attempt may be retried:
 * - `connect-failure`: the connection could not be made (refused, unreachable, connect timeout, DNS); nothing was sent.
 * - `refused`: the connection was refused (a subset of `connect-failure`).
 * - `reset`: the connection was reset or closed before the response headers arrived.
 * - `5xx`: any 5xx response.
 * - `gateway-error`: a 502, 503 or 504 response.
 * - `retriable-status-codes`: a status in {@link RetryOptions.retriableStatusCodes}.
 * - `timeout`: the per-try timeout ({@link TimeoutOptions.perTryMs}) expired.
 */
export type RetryCondition =
  | 'connect-failure'
  | 'refused'
  | 'reset'
  | '5xx'
  | 'gateway-error'
  | 'retriable-status-codes'
  | 'timeout';

/** Exponential backoff with full jitter between tries: a retry waits `random() * min(maxMs, baseMs * 2^n)`. */
export interface BackoffOptions extends Static<typeof S.BACKOFF_SCHEMA> {}

/**
 * A retry budget per service, as in Finagle: retries (and hedges) may add at
 * most `percent`% of the requests of the last `ttlMs`, plus a floor of
 * `minRetriesPerSecond` so that quiet clients can still retry.
 */
export interface RetryBudgetOptions extends Static<typeof S.RETRY_BUDGET_SCHEMA> {}

/** The retry policy of a service. `retry: false` turns retries off. */
export interface RetryOptions extends Static<typeof S.RETRY_SCHEMA> {}

/** Deadlines. `timeout: false` (the default) sets none. */
export interface TimeoutOptions extends Static<typeof S.TIMEOUT_SCHEMA> {}

/** Settings of one circuit breaker. */
export interface CircuitBreakerSettings extends Static<typeof S.BREAKER_SETTINGS_SCHEMA> {}

/**
 * Circuit breakers: one per endpoint (an open endpoint is not picked) and,
 * optionally, one per service that fails requests fast with `MESH_CIRCUIT_OPEN`.
 */
export interface CircuitBreakerOptions extends Static<typeof S.CIRCUIT_BREAKER_SCHEMA> {}

/** Success-rate ejection (Envoy's `success_rate_*`, gRPC A50's `successRateEjection`). */
export interface SuccessRateEjectionOptions extends Static<typeof S.SUCCESS_RATE_SCHEMA> {}

/** Failure-percentage ejection (Envoy's `failure_percentage_*`, gRPC A50's `failurePercentageEjection`). */
export interface FailurePercentageEjectionOptions extends Static<typeof S.FAILURE_PERCENTAGE_SCHEMA> {}

/** Passive outlier detection, as in Envoy and gRPC (A50). */
export interface OutlierDetectionOptions extends Static<typeof S.OUTLIER_DETECTION_SCHEMA> {}

/** Concurrency limits per service; excess requests fail fast with `MESH_BULKHEAD_REJECTED`. */
export interface BulkheadOptions extends Static<typeof S.BULKHEAD_SCHEMA> {}

/** Hedged (backup) requests for idempotent calls. */
export interface HedgeOptions extends Static<typeof S.HEDGE_SCHEMA> {}

/** The resilience options a service (or `defaults`) may set. */
export interface ResilienceOptions extends Static<typeof S.RESILIENCE_SCHEMA> {}
