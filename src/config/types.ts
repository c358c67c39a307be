import type { Dispatcher } from 'undici';
import type { FaultSpec } from './faults.js';
import type { EndpointInput } from '../discovery/endpoint.js';
import type { DiscoveryOption } from '../discovery/config.js';
import type { HealthCheckOptions } from '../health/options.js';
import type { Observer } from '../telemetry/events.js';
import type { TelemetryOptions } from '../telemetry/options.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import type { Route, SlowStartOptions } from '../routing/types.js';
import type { AuthHook, EgressOption, TlsOptions } from '../security/types.js';

/**
 * The load-balancing policy of a service: a registered policy name, or an
 * object with `policy` and that policy's options.
 */
export type LoadBalancerOption = string | LoadBalancerChoice;

/** A load-balancing policy by name, with that policy's options beside it. */
export interface LoadBalancerChoice {
  /** A registered policy name, e.g. `'least-request'`. */
  policy: string;
  /** The policy's own options, e.g. `choiceCount`. */
  [option: string]: unknown;
}

/** Connection settings for the pool of each endpoint. */
export interface ConnectionOptions {
  /** Most sockets per endpoint. Default 64. */
  maxConnections?: number;
  /** Requests pipelined per socket. Default 1 (no pipelining). */
  pipelining?: number;
  /** Time to establish a connection, in milliseconds. Default 10,000. */
  connectTimeoutMs?: number;
  /** How long an idle socket is kept, in milliseconds. Default 4,000 (undici's default). */
  keepAliveTimeoutMs?: number;
}

/** Settings a service can set, and `defaults` can set for every service. */
export interface SharedServiceOptions extends ResilienceOptions {
  /** The load-balancing policy. Default `'round-robin'`. */
  loadBalancer?: LoadBalancerOption;
  /** Pool settings for each endpoint. */
  connection?: ConnectionOptions;
  /**
   * Envoy's overprovisioning factor for priority and locality spill-over: a
   * level whose healthy share times this factor is at least 100% keeps all its
   * traffic. Default 1.4.
   */
  overprovisioningFactor?: number;
  /**
   * Panic threshold in percent: when fewer endpoints than this (after the
   * overprovisioning factor) are usable, use all endpoints rather than
   * overload the few. 0 disables. Default 50.
   */
  panicThreshold?: number;
  /** Ramp the weight of newly added endpoints over a window. Default off. */
  slowStart?: SlowStartOptions | false;
  /**
   * TLS and mTLS for `https://` endpoints; a service's settings are merged
   * field by field over `defaults.tls`, and `false` turns the defaults off.
   * See docs/security.md.
   */
  tls?: TlsOptions | false;
  /** Refuse plaintext (`http://`) endpoints. Default `false`; implied by `tls.identity`. */
  requireTls?: boolean;
  /** Active health checking of the endpoints. Default: off (`false`). */
  healthCheck?: HealthCheckOptions | false;
  /**
   * Istio-style fault injection, applied in the client before sending: delay
   * and/or abort a share of requests. A route's `faults` replace these. Default
   * off (`false`). See docs/fault-injection.md.
   */
  faults?: FaultSpec | false;
}

/** The configuration of one service. */
export interface ServiceOptions extends SharedServiceOptions {
  /** The service's endpoints. Default: none (every request fails with `MESH_NO_HEALTHY_ENDPOINT`). */
  endpoints?: EndpointInput[];
  /**
   * Where the endpoints come from: a provider, a spec (`{ type: 'file', path }`)
   * or a list in order of preference. Default: the top-level `discovery`,
   * unless `endpoints` is set. With both, `endpoints` is the last fallback.
   */
  discovery?: DiscoveryOption;
  /** Routing rules, first match wins; no match sends to the whole service. */
  routes?: Route[];
  /** Overrides the client's `localZone` for this service. */
  localZone?: string;
  /** A credential hook whose headers are added to every request to this service (cached until expiry). */
  auth?: AuthHook;
}

/** Settings applied to every service unless the service sets its own. */
export type DefaultsOptions = SharedServiceOptions;

/** The configuration of a {@link MeshClient}: everything `updateConfig` can change. */
export interface MeshConfig {
  /** The JSON Schema of this format (`meshlet/schema.json`), for editor completion in config files; ignored by the mesh. */
  $schema?: string;
  /** The services, by name. The URL host `http://orders/...` names the service `orders`. */
  services?: Record<string, ServiceOptions>;
  /** Settings every service inherits. */
  defaults?: DefaultsOptions;
  /**
   * What to do with a URL whose host is not a service: `'allow'` (default)
   * sends it directly to that host, still observed; `'deny'` refuses it with
   * `MESH_UNKNOWN_SERVICE`; `{ mode: 'deny', allow: ['api.stripe.com', '*.example.org'] }`
   * refuses all but the listed hosts.
   */
  egress?: EgressOption;
  /** The zone this process runs in: traffic prefers endpoints with the same `zone`. */
  localZone?: string;
  /**
   * Discovery for every service that sets neither `endpoints` nor its own
   * `discovery`: `discovery: fileDiscovery('endpoints.json')`.
   */
  discovery?: DiscoveryOption;
}

/** Options of `new MeshClient(options)`: the {@link MeshConfig} plus process-level hooks. */
export interface MeshClientOptions extends MeshConfig {
  /** Receivers of every health, metric and config event. */
  observers?: Observer[];
  /** A pino-style logger. Default: silent, except through `NODE_DEBUG=meshlet`. */
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
export interface BackoffOptions {
  /** The first retry's delay bound, in milliseconds. Default 25. */
  baseMs?: number;
  /** The largest delay bound, in milliseconds. Default 250. */
  maxMs?: number;
}

/**
 * A retry budget per service, as in Finagle: retries (and hedges) may add at
 * most `percent`% of the requests of the last `ttlMs`, plus a floor of
 * `minRetriesPerSecond` so that quiet clients can still retry.
 */
export interface RetryBudgetOptions {
  /** Retries allowed as a percentage of requests. Default 20. */
  percent?: number;
  /** Retries always allowed per second, whatever the request rate. Default 10. */
  minRetriesPerSecond?: number;
  /** The window requests are counted over, in milliseconds. Default 10,000. */
  ttlMs?: number;
}

/** The retry policy of a service. `retry: false` turns retries off. */
export interface RetryOptions {
  /** Tries in all, the first one included: 1 to 10. Default 3. */
  attempts?: number;
  /** What may be retried. Default `['connect-failure', 'refused', 'reset', 'gateway-error', 'timeout']`. */
  retryOn?: RetryCondition[];
  /** Delay between tries; `false` retries at once. Default `{ baseMs: 25, maxMs: 250 }`. */
  backoff?: BackoffOptions | false;
  /** The retry budget; `false` means no budget (not recommended). Default `{ percent: 20, minRetriesPerSecond: 10, ttlMs: 10000 }`. */
  budget?: RetryBudgetOptions | false;
  /** Methods that may be retried. Default the idempotent ones: GET, HEAD, OPTIONS, PUT, DELETE, TRACE. */
  methods?: string[];
  /** Retry any method (still only with a replayable body). Default false. */
  retryNonIdempotent?: boolean;
  /** Statuses retried under `retriable-status-codes`. Default `[]`. */
  retriableStatusCodes?: number[];
  /** The longest `Retry-After` honoured, in milliseconds; a longer one is not retried. Default 1,000. */
  retryAfterMaxMs?: number;
}

/** Deadlines. `timeout: false` (the default) sets none. */
export interface TimeoutOptions {
  /** Each try's deadline, until its response headers arrive, in milliseconds. Default: none. */
  perTryMs?: number;
  /** The whole request's deadline (tries, backoffs, hedges and the response body), in milliseconds. Default: none. */
  totalMs?: number;
}

/** Settings of one circuit breaker. */
export interface CircuitBreakerSettings {
  /** `consecutive`: opens after `consecutiveFailures` failures in a row; `sampling`: opens on a failure rate. Default `consecutive`. */
  mode?: 'consecutive' | 'sampling';
  /** Failures in a row that open the breaker (`consecutive` mode). Default 5. */
  consecutiveFailures?: number;
  /** Failure percentage over the window that opens the breaker (`sampling` mode). Default 50. */
  failureRatePercent?: number;
  /** The sampling window, in milliseconds. Default 10,000. */
  samplingWindowMs?: number;
  /** Calls needed in the window before the rate counts. Default 20. */
  minimumRequests?: number;
  /** How long the breaker stays open before it lets one probe through, in milliseconds. Default 10,000. */
  halfOpenAfterMs?: number;
  /** Count 5xx responses as failures, not only transport failures and timeouts. Default false for endpoints (outlier detection handles 5xx), true for the service breaker. */
  count5xx?: boolean;
}

/**
 * Circuit breakers: one per endpoint (an open endpoint is not picked) and,
 * optionally, one per service that fails requests fast with `MESH_CIRCUIT_OPEN`.
 */
export interface CircuitBreakerOptions extends CircuitBreakerSettings {
  /** The per-service breaker: settings, `true` for the defaults, or `false` (default) for none. */
  service?: CircuitBreakerSettings | boolean;
}

/** Success-rate ejection (Envoy's `success_rate_*`, gRPC A50's `successRateEjection`). */
export interface SuccessRateEjectionOptions {
  /** Eject below mean − stdevFactor × stdev. Default 1.9. */
  stdevFactor?: number;
  /** Probability (percent) that a detected outlier is ejected. Default 100. */
  enforcementPercent?: number;
  /** Endpoints with enough volume needed for the check. Default 5. */
  minimumHosts?: number;
  /** Requests an endpoint needs in the interval to be considered. Default 100. */
  requestVolume?: number;
}

/** Failure-percentage ejection (Envoy's `failure_percentage_*`, gRPC A50's `failurePercentageEjection`). */
export interface FailurePercentageEjectionOptions {
  /** Eject at or above this failure percentage. Default 85. */
  threshold?: number;
  /** Probability (percent) that a detected outlier is ejected. Default 100. */
  enforcementPercent?: number;
  /** Endpoints with enough volume needed for the check. Default 5. */
  minimumHosts?: number;
  /** Requests an endpoint needs in the interval to be considered. Default 50. */
  requestVolume?: number;
}

/** Passive outlier detection, as in Envoy and gRPC (A50). */
export interface OutlierDetectionOptions {
  /** 5xx responses (and transport failures) in a row that eject an endpoint; `false` off. Default 5. */
  consecutive5xx?: number | false;
  /** 502/503/504 responses (and transport failures) in a row that eject; `false` off. Default false. */
  consecutiveGatewayFailure?: number | false;
  /** Transport failures and timeouts in a row that eject; `false` off. Default false. */
  consecutiveLocalOriginFailure?: number | false;
  /** How often success-rate and failure-percentage are checked, in milliseconds. Default 10,000. */
  intervalMs?: number;
  /** Ejection time = base × times ejected, in milliseconds. Default 30,000. */
  baseEjectionTimeMs?: number;
  /** The longest ejection, in milliseconds. Default 300,000. */
  maxEjectionTimeMs?: number;
  /** Most endpoints ejected at once, in percent; at least one can always be ejected. Default 10. */
  maxEjectionPercent?: number;
  /** Success-rate ejection; `false` off. Default on. */
  successRate?: SuccessRateEjectionOptions | false;
  /** Failure-percentage ejection; `false` (the default) off. */
  failurePercentage?: FailurePercentageEjectionOptions | false;
}

/** Concurrency limits per service; excess requests fail fast with `MESH_BULKHEAD_REJECTED`. */
export interface BulkheadOptions {
  /** Requests in flight at once. Default 1,024. */
  maxConcurrent?: number;
  /** Requests waiting for a slot. Default 0 (no queue). */
  maxPending?: number;
}

/** Hedged (backup) requests for idempotent calls. */
export interface HedgeOptions {
  /** Send the backup after this many milliseconds without response headers. Default: the observed `percentile` latency. */
  delayMs?: number;
  /** The observed latency percentile used when `delayMs` is not set. Default 95. */
  percentile?: number;
  /** Attempt latencies needed before a percentile is trusted. Default 20. */
  minSamples?: number;
}

/** The resilience options a service (or `defaults`) may set. */
export interface ResilienceOptions {
  /** Retries: see {@link RetryOptions}. Default on. */
  retry?: RetryOptions | false;
  /** Deadlines: see {@link TimeoutOptions}. Default none. */
  timeout?: TimeoutOptions | false;
  /** Circuit breakers: see {@link CircuitBreakerOptions}. Default: per endpoint on, per service off. */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Outlier detection: see {@link OutlierDetectionOptions}. Default on. */
  outlierDetection?: OutlierDetectionOptions | false;
  /** A concurrency limit: see {@link BulkheadOptions}. Default `false` (none). */
  bulkhead?: BulkheadOptions | false;
  /** Hedged requests: see {@link HedgeOptions}. Default `false` (none). */
  hedge?: HedgeOptions | false;
}
