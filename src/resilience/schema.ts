/**
 * The resilience options (retries, deadlines, circuit breakers, outlier
 * detection, bulkheads, hedging): their schema fragment, which
 * src/config/schema.ts composes into the configuration's, and the option
 * types derived from it. Defaults are the schema helpers' last arguments.
 */
import { Type, type Static } from '@sinclair/typebox';
import { bool, described, int, num, oneOf, opt, orFalse, percent } from '../util/schema-blocks.js';


/** The retry conditions, in one place. */
export const RETRY_CONDITION_NAMES = Object.freeze([
  'connect-failure',
  'refused',
  'reset',
  '5xx',
  'gateway-error',
  'retriable-status-codes',
  'timeout',
] as const);

/** The schema of {@link RETRY_CONDITION_NAMES}. */
export const RETRY_CONDITION_SCHEMA = oneOf('A failure that may be retried.', RETRY_CONDITION_NAMES);

/** `retry.backoff`. */
export const BACKOFF_SCHEMA = Type.Object(
  {
    /** The first retry's delay bound, in milliseconds. Default 25. */
    baseMs: opt(num("The first retry's delay bound, ms.", 0, undefined, 25)),
    /** The largest delay bound, in milliseconds (at least `baseMs`). Default 250. */
    maxMs: opt(num('The largest delay bound, ms (>= baseMs).', 0, undefined, 250)),
  },
  { description: 'Full-jitter exponential backoff.', additionalProperties: false },
);

/** `retry.budget`. */
export const RETRY_BUDGET_SCHEMA = Type.Object(
  {
    /** Retries allowed as a percentage of requests. Default 20. */
    percent: opt(num('Retries allowed as a percentage of requests.', 0, 1000, 20)),
    /** Retries always allowed per second, whatever the request rate. Default 10. */
    minRetriesPerSecond: opt(num('Retries always allowed per second.', 0, undefined, 10)),
    /** The window requests are counted over, in milliseconds. Default 10,000. */
    ttlMs: opt(int('The counting window, ms.', 100, 600_000, 10_000)),
  },
  { description: 'The retry budget.', additionalProperties: false },
);

/** The methods retried by default: the idempotent ones. */
const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];

/** `retry`. */
export const RETRY_SCHEMA = Type.Object(
  {
    /** Tries in all, the first one included: 1 to 10. Default 3. */
    attempts: opt(int('Tries in all, the first included.', 1, 10, 3)),
    /** What may be retried. Default ['connect-failure', 'refused', 'reset', 'gateway-error', 'timeout']. */
    retryOn: opt(
      Type.Array(RETRY_CONDITION_SCHEMA, described('What may be retried.', ['connect-failure', 'refused', 'reset', 'gateway-error', 'timeout'])),
    ),
    /** Delay between tries; `false` retries at once. Default on. */
    backoff: opt(orFalse(BACKOFF_SCHEMA, true)),
    /** The retry budget; `false` means no budget (not recommended). Default on. */
    budget: opt(orFalse(RETRY_BUDGET_SCHEMA, true)),
    /** Methods that may be retried, upper-case. Default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']. */
    methods: opt(
      Type.Array(Type.String({ pattern: '^[A-Z]+$', expects: 'an upper-case method name' }), described('Methods that may be retried (upper-case).', IDEMPOTENT_METHODS)),
    ),
    /** Retry any method (still only with a replayable body). Default false. */
    retryNonIdempotent: opt(bool('Retry any method (replayable bodies only).', false)),
    /** Statuses retried under `retriable-status-codes`. Default []. */
    retriableStatusCodes: opt(Type.Array(int('A status.', 100, 599), described('Statuses retried under retriable-status-codes.', []))),
    /** The longest `Retry-After` honoured, in milliseconds; a longer one is not retried. Default 1,000. */
    retryAfterMaxMs: opt(num('Longest Retry-After honoured, ms.', 0, undefined, 1_000)),
  },
  { description: 'Retries. See docs/retries.md.', additionalProperties: false },
);

/** `timeout`. */
export const TIMEOUT_SCHEMA = Type.Object(
  {
    /** Each try's deadline, from its write on a connection until its response headers, in milliseconds (a try queued for a connection that long fails with `MESH_POOL_TIMEOUT`; docs/timeouts.md). Default: none. */
    perTryMs: opt(int('Each try, until response headers, ms. Must be <= totalMs. Default none.', 1)),
    /** The whole request's deadline (tries, backoffs, hedges and the response body), in milliseconds. Default: none. */
    totalMs: opt(int('The whole request (tries, backoffs, hedges, body), ms. Default none.', 1)),
  },
  { description: 'Deadlines. See docs/timeouts.md.', additionalProperties: false },
);

const breakerSettings = {
  /** `consecutive`: opens after `consecutiveFailures` failures in a row; `sampling`: opens on a failure rate. Default 'consecutive'. */
  mode: opt(Type.Union([Type.Literal('consecutive'), Type.Literal('sampling')], described('`consecutive` or `sampling`.', 'consecutive'))),
  /** Failures in a row that open the breaker (`consecutive` mode). Default 5. */
  consecutiveFailures: opt(int('Failures in a row that open the breaker.', 1, undefined, 5)),
  /** Failure percentage over the window that opens the breaker (`sampling` mode). Default 50. */
  failureRatePercent: opt(
    Type.Number({ ...described('Failure percentage over the window that opens it (sampling), > 0.', 50), exclusiveMinimum: 0, maximum: 100 }),
  ),
  /** The sampling window, in milliseconds. Default 10,000. */
  samplingWindowMs: opt(int('The sampling window in milliseconds.', 100, undefined, 10_000)),
  /** Calls needed in the window before the rate counts. Default 20. */
  minimumRequests: opt(int('Calls needed in the window before the rate counts.', 1, undefined, 20)),
  /**
   * How long the breaker stays open before it lets one probe through, in
   * milliseconds, the first time in a row it opens; each further opening in a
   * row doubles it, up to `maxHalfOpenAfterMs`. Default 1,000.
   */
  halfOpenAfterMs: opt(int('Time open before one probe, in milliseconds, doubling per opening in a row.', 1, undefined, 1_000)),
  /**
   * The longest open time the doubling reaches, in milliseconds (at least
   * `halfOpenAfterMs` is used). The streak ends once the breaker stays closed
   * as long as it was last open. Default 30,000.
   */
  maxHalfOpenAfterMs: opt(int('Longest open time as openings in a row double it, ms.', 1, undefined, 30_000)),
  /**
   * Count 5xx responses as failures, not only transport failures and
   * timeouts (outlier detection handles 5xx); the service breaker counts them
   * unless its settings say `count5xx: false`. Default false.
   */
  count5xx: opt(bool('Count 5xx responses as failures (the service breaker does unless set to false).', false)),
};

/** The settings of one breaker. */
export const BREAKER_SETTINGS_SCHEMA = Type.Object(breakerSettings, { description: 'Breaker settings.', additionalProperties: false });

/** `circuitBreaker`. */
export const CIRCUIT_BREAKER_SCHEMA = Type.Object(
  {
    ...breakerSettings,
    /** The per-service breaker: settings, `true` for the defaults, or `false` for none. Default false. */
    service: opt(Type.Union([Type.Boolean(), BREAKER_SETTINGS_SCHEMA], described('The per-service breaker: settings, true for the defaults, or false.', false))),
  },
  { description: 'Circuit breakers per endpoint (and optionally per service). See docs/circuit-breakers.md.', additionalProperties: false },
);

const ejectionCommon = {
  /** Probability (percent) that a detected outlier is ejected. Default 100. */
  enforcementPercent: opt(percent('Probability (percent) that a detected outlier is ejected.', 100)),
  /** Endpoints with enough volume needed for the check. Default 5. */
  minimumHosts: opt(int('Endpoints with enough volume needed for the check.', 1, undefined, 5)),
};

/** `outlierDetection.successRate`. */
export const SUCCESS_RATE_SCHEMA = Type.Object(
  {
    /** Eject below mean − stdevFactor × stdev. Default 1.9. */
    stdevFactor: opt(num('Eject below mean - stdevFactor x stdev.', 0, undefined, 1.9)),
    ...ejectionCommon,
    /** Requests an endpoint needs in the interval to be considered. Default 100. */
    requestVolume: opt(int('Requests needed in the interval.', 1, undefined, 100)),
  },
  { description: 'Success-rate ejection.', additionalProperties: false },
);

/** `outlierDetection.failurePercentage`. */
export const FAILURE_PERCENTAGE_SCHEMA = Type.Object(
  {
    /** Eject at or above this failure percentage. Default 85. */
    threshold: opt(percent('Eject at or above this failure percentage.', 85)),
    ...ejectionCommon,
    /** Requests an endpoint needs in the interval to be considered. Default 50. */
    requestVolume: opt(int('Requests needed in the interval.', 1, undefined, 50)),
  },
  { description: 'Failure-percentage ejection.', additionalProperties: false },
);

/** A count of failures in a row that ejects, or `false` (that check off). */
const ejectAfter = (description: string, fallback: number | false) =>
  Type.Union([int(description, 1), Type.Literal(false)], described(`${description} false turns it off.`, fallback));

/** `outlierDetection`. */
export const OUTLIER_DETECTION_SCHEMA = Type.Object(
  {
    /** 5xx responses (and transport failures) in a row that eject an endpoint; `false` off. Default 5. */
    consecutive5xx: opt(ejectAfter('5xx in a row that eject.', 5)),
    /** 502/503/504 responses (and transport failures) in a row that eject; `false` off. Default false. */
    consecutiveGatewayFailure: opt(ejectAfter('502/503/504 in a row that eject.', false)),
    /** Transport failures and timeouts in a row that eject; `false` off. Default false. */
    consecutiveLocalOriginFailure: opt(ejectAfter('Transport failures in a row that eject.', false)),
    /** How often success-rate and failure-percentage are checked, in milliseconds. Default 10,000. */
    intervalMs: opt(int('Check interval, ms.', 1, undefined, 10_000)),
    /** Ejection time = base × times ejected, in milliseconds. Default 30,000. */
    baseEjectionTimeMs: opt(int('Ejection time = base x times ejected, ms.', 1, undefined, 30_000)),
    /** The longest ejection, in milliseconds. Default 300,000. */
    maxEjectionTimeMs: opt(int('Longest ejection, ms.', 1, undefined, 300_000)),
    /** Most endpoints ejected at once, in percent; at least one can always be ejected. Default 10. */
    maxEjectionPercent: opt(percent('Most endpoints ejected at once, percent.', 10)),
    /** Success-rate ejection; `false` off. Default on. */
    successRate: opt(orFalse(SUCCESS_RATE_SCHEMA, true)),
    /** Failure-percentage ejection; `false` off. Default off. */
    failurePercentage: opt(orFalse(FAILURE_PERCENTAGE_SCHEMA, false)),
  },
  { description: 'Passive outlier detection. See docs/outlier-detection.md.', additionalProperties: false },
);

/** `bulkhead`. */
export const BULKHEAD_SCHEMA = Type.Object(
  {
    /** Requests in flight at once. Default 1,024. */
    maxConcurrent: opt(int('Requests in flight at once.', 1, undefined, 1_024)),
    /** Requests waiting for a slot (0: no queue). Default 0. */
    maxPending: opt(int('Requests waiting for a slot.', 0, undefined, 0)),
  },
  { description: 'Concurrency limit per service. See docs/bulkheads.md.', additionalProperties: false },
);

/** `hedge`. */
export const HEDGE_SCHEMA = Type.Object(
  {
    /** Send the backup after this many milliseconds without response headers. Default: the observed `percentile` latency. */
    delayMs: opt(num('Send the backup after this many ms. Default: the observed percentile.', 0)),
    /** The observed latency percentile used when `delayMs` is not set. Default 95. */
    percentile: opt(num('Latency percentile used without delayMs.', 1, 99.9, 95)),
    /** Attempt latencies needed before a percentile is trusted. Default 20. */
    minSamples: opt(int('Latencies needed before the percentile is trusted.', 1, undefined, 20)),
  },
  { description: 'Hedged requests for idempotent calls. See docs/hedging.md.', additionalProperties: false },
);

/** The resilience blocks, as properties of a service (or of `defaults`). */
export const RESILIENCE_PROPERTIES = {
  /** Retries: see {@link RetryOptions}. Default on. */
  retry: opt(orFalse(RETRY_SCHEMA, true)),
  /** Deadlines: see {@link TimeoutOptions}. Default off. */
  timeout: opt(orFalse(TIMEOUT_SCHEMA, false)),
  /** Circuit breakers: see {@link CircuitBreakerOptions}; the per-service one is off unless `service` says otherwise. Default on. */
  circuitBreaker: opt(orFalse(CIRCUIT_BREAKER_SCHEMA, true)),
  /** Outlier detection: see {@link OutlierDetectionOptions}. Default on. */
  outlierDetection: opt(orFalse(OUTLIER_DETECTION_SCHEMA, true)),
  /** A concurrency limit: see {@link BulkheadOptions}. Default off. */
  bulkhead: opt(orFalse(BULKHEAD_SCHEMA, false)),
  /** Hedged requests: see {@link HedgeOptions}. Default off. */
  hedge: opt(orFalse(HEDGE_SCHEMA, false)),
};

/** The per-request override (`mesh` in a request's options): retry, timeout and hedge. */
export const REQUEST_OVERRIDE_SCHEMA = Type.Object(
  { retry: opt(orFalse(RETRY_SCHEMA)), timeout: opt(orFalse(TIMEOUT_SCHEMA)), hedge: opt(orFalse(HEDGE_SCHEMA)) },
  { description: "One request's own retry, timeout and hedge policies, over the service's.", additionalProperties: false },
);

/** The resilience blocks a service (or `defaults`) may set. */
export const RESILIENCE_SCHEMA = Type.Object(RESILIENCE_PROPERTIES, { additionalProperties: false });

// ---- the option types ----


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
export interface BackoffOptions extends Static<typeof BACKOFF_SCHEMA> {}

/**
 * A retry budget per service, as in Finagle: retries (and hedges) may add at
 * most `percent`% of the requests of the last `ttlMs`, plus a floor of
 * `minRetriesPerSecond` so that quiet clients can still retry.
 */
export interface RetryBudgetOptions extends Static<typeof RETRY_BUDGET_SCHEMA> {}

/** The retry policy of a service. `retry: false` turns retries off. */
export interface RetryOptions extends Static<typeof RETRY_SCHEMA> {}

/** Deadlines. `timeout: false` (the default) sets none. */
export interface TimeoutOptions extends Static<typeof TIMEOUT_SCHEMA> {}

/** Settings of one circuit breaker. */
export interface CircuitBreakerSettings extends Static<typeof BREAKER_SETTINGS_SCHEMA> {}

/**
 * Circuit breakers: one per endpoint (an open endpoint is not picked) and,
 * optionally, one per service that fails requests fast with `MESH_CIRCUIT_OPEN`.
 */
export interface CircuitBreakerOptions extends Static<typeof CIRCUIT_BREAKER_SCHEMA> {}

/** Success-rate ejection (Envoy's `success_rate_*`, gRPC A50's `successRateEjection`). */
export interface SuccessRateEjectionOptions extends Static<typeof SUCCESS_RATE_SCHEMA> {}

/** Failure-percentage ejection (Envoy's `failure_percentage_*`, gRPC A50's `failurePercentageEjection`). */
export interface FailurePercentageEjectionOptions extends Static<typeof FAILURE_PERCENTAGE_SCHEMA> {}

/** Passive outlier detection, as in Envoy and gRPC (A50). */
export interface OutlierDetectionOptions extends Static<typeof OUTLIER_DETECTION_SCHEMA> {}

/** Concurrency limits per service; excess requests fail fast with `MESH_BULKHEAD_REJECTED`. */
export interface BulkheadOptions extends Static<typeof BULKHEAD_SCHEMA> {}

/** Hedged (backup) requests for idempotent calls. */
export interface HedgeOptions extends Static<typeof HEDGE_SCHEMA> {}

/** The resilience options a service (or `defaults`) may set. */
export interface ResilienceOptions extends Static<typeof RESILIENCE_SCHEMA> {}
