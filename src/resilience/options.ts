import type { ConfigIssue } from '../errors/mesh-error.js';
import { isRecord, join } from '../util/checks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import {
  BACKOFF_SCHEMA,
  BREAKER_SETTINGS_SCHEMA,
  BULKHEAD_SCHEMA,
  FAILURE_PERCENTAGE_SCHEMA,
  HEDGE_SCHEMA,
  OUTLIER_DETECTION_SCHEMA,
  REQUEST_OVERRIDE_SCHEMA,
  RESILIENCE_SCHEMA,
  RETRY_BUDGET_SCHEMA,
  RETRY_SCHEMA,
  SUCCESS_RATE_SCHEMA,
} from './schema.js';
import { schemaIssues } from '../util/schema-issues.js';
import type {
  BulkheadOptions,
  CircuitBreakerOptions,
  CircuitBreakerSettings,
  FailurePercentageEjectionOptions,
  HedgeOptions,
  OutlierDetectionOptions,
  ResilienceOptions,
  RetryCondition,
  RetryOptions,
  SuccessRateEjectionOptions,
  TimeoutOptions,
} from './schema.js';

// Bounds and defaults live in the schema (src/config/schema.ts): the
// structural pass there reports every value out of bounds, and the defaults
// below are read off it. What is left here is what a schema cannot say:
// merging a block over the one it inherits (field by field, `false` off),
// and rules across fields (`maxMs >= baseMs`, `perTryMs <= totalMs`).

/** A retry policy with every default filled in. */
export interface ResolvedRetry {
  readonly attempts: number;
  readonly retryOn: ReadonlySet<RetryCondition>;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number } | undefined;
  readonly budget: { readonly percent: number; readonly minRetriesPerSecond: number; readonly ttlMs: number } | undefined;
  readonly methods: ReadonlySet<string>;
  readonly retryNonIdempotent: boolean;
  readonly retriableStatusCodes: ReadonlySet<number>;
  readonly retryAfterMaxMs: number;
}

/** Deadlines; `undefined` means none. */
export interface ResolvedTimeout {
  readonly perTryMs: number | undefined;
  readonly totalMs: number | undefined;
}

/** One breaker's settings with defaults filled in. */
export interface ResolvedBreaker {
  readonly mode: 'consecutive' | 'sampling';
  readonly consecutiveFailures: number;
  readonly failureRatePercent: number;
  readonly samplingWindowMs: number;
  readonly minimumRequests: number;
  readonly halfOpenAfterMs: number;
  readonly maxHalfOpenAfterMs: number;
  readonly count5xx: boolean;
}

/** Outlier detection with defaults filled in; `undefined` checks are off. */
export interface ResolvedOutlierDetection {
  readonly consecutive5xx: number | undefined;
  readonly consecutiveGatewayFailure: number | undefined;
  readonly consecutiveLocalOriginFailure: number | undefined;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly successRate:
    | { readonly stdevFactor: number; readonly enforcementPercent: number; readonly minimumHosts: number; readonly requestVolume: number }
    | undefined;
  readonly failurePercentage:
    | { readonly threshold: number; readonly enforcementPercent: number; readonly minimumHosts: number; readonly requestVolume: number }
    | undefined;
}

/** Every resilience policy of one service; `undefined` means the policy is off. */
export interface ResolvedResilience {
  readonly retry: ResolvedRetry | undefined;
  readonly timeout: ResolvedTimeout | undefined;
  readonly endpointBreaker: ResolvedBreaker | undefined;
  readonly serviceBreaker: ResolvedBreaker | undefined;
  readonly outlierDetection: ResolvedOutlierDetection | undefined;
  readonly bulkhead: { readonly maxConcurrent: number; readonly maxPending: number } | undefined;
  readonly hedge: { readonly delayMs: number | undefined; readonly percentile: number; readonly minSamples: number } | undefined;
}

/** The keys a service or `defaults` may use for resilience. */
export const RESILIENCE_KEYS = Object.keys(RESILIENCE_SCHEMA.properties) as (keyof ResilienceOptions)[];

const freeze = Object.freeze;
const BREAKER_FILL = defaultsOf(BREAKER_SETTINGS_SCHEMA) as Required<CircuitBreakerSettings>;
const RETRY_FILL = defaultsOf(RETRY_SCHEMA) as Required<Omit<RetryOptions, 'backoff' | 'budget'>>;
const BACKOFF_FILL = freeze(defaultsOf(BACKOFF_SCHEMA) as { baseMs: number; maxMs: number });
const BUDGET_FILL = freeze(defaultsOf(RETRY_BUDGET_SCHEMA) as { percent: number; minRetriesPerSecond: number; ttlMs: number });
const OUTLIER_FILL = defaultsOf(OUTLIER_DETECTION_SCHEMA) as Required<Omit<OutlierDetectionOptions, 'successRate' | 'failurePercentage'>> & {
  successRate: object | false;
  failurePercentage: object | false;
};
const SUCCESS_RATE_FILL = freeze(defaultsOf(SUCCESS_RATE_SCHEMA)) as ResolvedOutlierDetection['successRate'] & object;
const FAILURE_PERCENTAGE_FILL = freeze(defaultsOf(FAILURE_PERCENTAGE_SCHEMA)) as ResolvedOutlierDetection['failurePercentage'] & object;
const BULKHEAD_FILL = freeze(defaultsOf(BULKHEAD_SCHEMA)) as NonNullable<ResolvedResilience['bulkhead']>;
const HEDGE_FILL = freeze({ delayMs: undefined, ...defaultsOf(HEDGE_SCHEMA) }) as NonNullable<ResolvedResilience['hedge']>;
const TIMEOUT_FILL: ResolvedTimeout = freeze({ perTryMs: undefined, totalMs: undefined });
/** What `defaults` (and every service) starts from when a block is absent: on, with its defaults, or off. */
const ON = defaultsOf(RESILIENCE_SCHEMA) as Record<keyof ResilienceOptions, object | false | undefined>;

const ENDPOINT_BREAKER: ResolvedBreaker = freeze({ ...BREAKER_FILL });
/** The service breaker counts 5xx unless its settings say otherwise. */
const SERVICE_BREAKER: ResolvedBreaker = freeze({ ...BREAKER_FILL, count5xx: true });

const OUTLIER_DEFAULTS: ResolvedOutlierDetection = freeze({
  consecutive5xx: OUTLIER_FILL.consecutive5xx || undefined,
  consecutiveGatewayFailure: OUTLIER_FILL.consecutiveGatewayFailure || undefined,
  consecutiveLocalOriginFailure: OUTLIER_FILL.consecutiveLocalOriginFailure || undefined,
  intervalMs: OUTLIER_FILL.intervalMs,
  baseEjectionTimeMs: OUTLIER_FILL.baseEjectionTimeMs,
  maxEjectionTimeMs: OUTLIER_FILL.maxEjectionTimeMs,
  maxEjectionPercent: OUTLIER_FILL.maxEjectionPercent,
  successRate: OUTLIER_FILL.successRate === false ? undefined : SUCCESS_RATE_FILL,
  failurePercentage: OUTLIER_FILL.failurePercentage === false ? undefined : FAILURE_PERCENTAGE_FILL,
} as ResolvedOutlierDetection);

const RETRY_DEFAULTS: ResolvedRetry = freeze({
  attempts: RETRY_FILL.attempts,
  retryOn: new Set(RETRY_FILL.retryOn),
  backoff: BACKOFF_FILL,
  budget: BUDGET_FILL,
  methods: new Set(RETRY_FILL.methods),
  retryNonIdempotent: RETRY_FILL.retryNonIdempotent,
  retriableStatusCodes: new Set(RETRY_FILL.retriableStatusCodes),
  retryAfterMaxMs: RETRY_FILL.retryAfterMaxMs,
});

/** The built-in defaults of every resilience policy, read off the schema (documented in docs/resilience.md). */
export const RESILIENCE_DEFAULTS: ResolvedResilience = freeze({
  retry: ON.retry ? RETRY_DEFAULTS : undefined,
  timeout: ON.timeout ? TIMEOUT_FILL : undefined,
  endpointBreaker: ON.circuitBreaker ? ENDPOINT_BREAKER : undefined,
  serviceBreaker: ON.circuitBreaker && (ON.circuitBreaker as { service?: unknown }).service ? SERVICE_BREAKER : undefined,
  outlierDetection: ON.outlierDetection ? OUTLIER_DEFAULTS : undefined,
  bulkhead: ON.bulkhead ? BULKHEAD_FILL : undefined,
  hedge: ON.hedge ? HEDGE_FILL : undefined,
});

/**
 * Merges the resilience options of a service (or of `defaults`) at `path`
 * over `base`: a block set to `false` is off, an object overrides `base` field
 * by field (or the defaults, when `base` has the block off), an absent block
 * keeps `base`. Values out of bounds were reported by the schema's structural
 * pass; a block that does not fit its schema keeps `base`. Cross-field rules
 * are reported in `issues`.
 */
export function resolveResilience(
  raw: ResilienceOptions & Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
  base: ResolvedResilience,
): ResolvedResilience {
  const retry = block(raw.retry, base.retry, (o: RetryOptions) => mergeRetry(o, base.retry ?? RETRY_DEFAULTS, join(path, 'retry'), issues));
  const timeout = block(raw.timeout, base.timeout, (o: TimeoutOptions) => mergeTimeout(o, base.timeout ?? TIMEOUT_FILL));
  const outlierDetection = block(raw.outlierDetection, base.outlierDetection, (o: OutlierDetectionOptions) =>
    mergeOutlier(o, base.outlierDetection ?? OUTLIER_DEFAULTS),
  );
  const bulkhead = block(raw.bulkhead, base.bulkhead, (o: BulkheadOptions) => freeze({ ...(base.bulkhead ?? BULKHEAD_FILL), ...definedOnly(o) }));
  const hedge = block(raw.hedge, base.hedge, (o: HedgeOptions) => freeze({ ...(base.hedge ?? HEDGE_FILL), ...definedOnly(o) }));
  let endpointBreaker = base.endpointBreaker;
  let serviceBreaker = base.serviceBreaker;
  const cb = raw.circuitBreaker;
  if (cb === false) {
    endpointBreaker = undefined;
    serviceBreaker = undefined;
  } else if (isRecord(cb)) {
    const { service, ...settings } = cb as CircuitBreakerOptions;
    endpointBreaker = mergeBreaker(settings, base.endpointBreaker ?? ENDPOINT_BREAKER);
    if (service === false) serviceBreaker = undefined;
    else if (service === true) serviceBreaker = base.serviceBreaker ?? SERVICE_BREAKER;
    else if (isRecord(service)) serviceBreaker = mergeBreaker(service, base.serviceBreaker ?? SERVICE_BREAKER);
  }
  // Checked where the timeout is written: a timeout inherited whole was
  // checked (and reported) at the level that set it.
  const own = raw.timeout;
  const perTry = timeout?.perTryMs;
  const total = timeout?.totalMs;
  if (isRecord(own) && typeof perTry === 'number' && typeof total === 'number' && perTry > total) {
    const wrotePerTry = (own as TimeoutOptions).perTryMs !== undefined;
    issues.push({
      path: join(join(path, 'timeout'), wrotePerTry ? 'perTryMs' : 'totalMs'),
      message: wrotePerTry
        ? `must be <= timeout.totalMs (${total}), found ${perTry}`
        : `must be >= timeout.perTryMs (${perTry}), found ${total}`,
    });
  }
  return freeze({ retry, timeout, endpointBreaker, serviceBreaker, outlierDetection, bulkhead, hedge });
}

/**
 * `undefined` keeps `inherited`; `false` turns off; an object is merged. A
 * value that is neither keeps `inherited`: the structural pass reported it,
 * and a configuration with structural issues is refused whole, so a merge
 * only has to survive bad values, not make sense of them.
 */
function block<O, T>(value: unknown, inherited: T | undefined, merge: (o: O) => T): T | undefined {
  if (value === undefined) return inherited;
  if (value === false) return undefined;
  return isRecord(value) ? merge(value as O) : inherited;
}

/** A list option as a set, or `inherited` when absent (or not a list: reported by the structural pass). */
function setOf<T>(value: readonly T[] | undefined, inherited: ReadonlySet<T>): ReadonlySet<T> {
  return Array.isArray(value) ? new Set(value) : inherited;
}

function mergeRetry(o: RetryOptions, b: ResolvedRetry, path: string, issues: ConfigIssue[]): ResolvedRetry {
  const backoff = block(o.backoff, b.backoff, (bo: { baseMs?: number; maxMs?: number }) => {
    const fill = b.backoff ?? BACKOFF_FILL;
    const baseMs = bo.baseMs ?? fill.baseMs;
    // An absent maxMs follows a larger baseMs up, so `{ baseMs: 500 }` alone is valid.
    const maxMs = bo.maxMs ?? Math.max(fill.maxMs, baseMs);
    if (typeof baseMs === 'number' && typeof maxMs === 'number' && maxMs < baseMs) issues.push({ path: join(join(path, 'backoff'), 'maxMs'), message: `must be >= baseMs (${baseMs}), found ${maxMs}` });
    return freeze({ baseMs, maxMs });
  });
  const budget = block(o.budget, b.budget, (bo: object) => freeze({ ...(b.budget ?? BUDGET_FILL), ...definedOnly(bo) }));
  return freeze({
    attempts: o.attempts ?? b.attempts,
    retryOn: setOf<RetryCondition>(o.retryOn, b.retryOn),
    backoff,
    budget,
    methods: setOf(o.methods, b.methods),
    retryNonIdempotent: o.retryNonIdempotent ?? b.retryNonIdempotent,
    retriableStatusCodes: setOf(o.retriableStatusCodes, b.retriableStatusCodes),
    retryAfterMaxMs: o.retryAfterMaxMs ?? b.retryAfterMaxMs,
  });
}

function mergeTimeout(o: TimeoutOptions, b: ResolvedTimeout): ResolvedTimeout {
  return freeze({ perTryMs: o.perTryMs ?? b.perTryMs, totalMs: o.totalMs ?? b.totalMs });
}

function mergeBreaker(o: CircuitBreakerSettings, b: ResolvedBreaker): ResolvedBreaker {
  return freeze({ ...b, ...definedOnly(o) });
}

function mergeOutlier(o: OutlierDetectionOptions, b: ResolvedOutlierDetection): ResolvedOutlierDetection {
  const threshold = (v: number | false | undefined, inherited: number | undefined) => (v === undefined ? inherited : v === false ? undefined : v);
  return freeze({
    consecutive5xx: threshold(o.consecutive5xx, b.consecutive5xx),
    consecutiveGatewayFailure: threshold(o.consecutiveGatewayFailure, b.consecutiveGatewayFailure),
    consecutiveLocalOriginFailure: threshold(o.consecutiveLocalOriginFailure, b.consecutiveLocalOriginFailure),
    intervalMs: o.intervalMs ?? b.intervalMs,
    baseEjectionTimeMs: o.baseEjectionTimeMs ?? b.baseEjectionTimeMs,
    maxEjectionTimeMs: o.maxEjectionTimeMs ?? b.maxEjectionTimeMs,
    maxEjectionPercent: o.maxEjectionPercent ?? b.maxEjectionPercent,
    successRate: block(o.successRate, b.successRate, (s: SuccessRateEjectionOptions) =>
      freeze({ ...(b.successRate ?? SUCCESS_RATE_FILL), ...definedOnly(s) }),
    ),
    failurePercentage: block(o.failurePercentage, b.failurePercentage, (s: FailurePercentageEjectionOptions) =>
      freeze({ ...(b.failurePercentage ?? FAILURE_PERCENTAGE_FILL), ...definedOnly(s) }),
    ),
  });
}

/** The fields of `o` that are set (an explicit `undefined` does not override). */
function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** The per-request overrides a request may carry (`mesh.request(url, { mesh: { ... } })`). */
export const REQUEST_OVERRIDE_KEYS = Object.keys(REQUEST_OVERRIDE_SCHEMA.properties) as ('retry' | 'timeout' | 'hedge')[];

/**
 * Resolves per-request overrides over the service's policies (a request's
 * options override the configured ones). Paths in issues start at `mesh`.
 * The retry budget stays per service: `mesh.retry.budget` is refused.
 */
export function resolveRequestResilience(value: unknown, base: ResolvedResilience): ResolvedResilience | ConfigIssue[] {
  const structural = schemaIssues(value, REQUEST_OVERRIDE_SCHEMA, 'mesh');
  const issues: ConfigIssue[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return structural;
  const o = value as Record<string, unknown>;
  const retry = o.retry as Record<string, unknown> | false | undefined;
  if (retry && typeof retry === 'object' && retry.budget !== undefined) {
    issues.push({ path: 'mesh.retry.budget', message: 'the retry budget is per service; set it in the service configuration' });
  }
  const resolved = resolveResilience(o, 'mesh', issues, base);
  const all = [...structural, ...issues];
  return all.length > 0 ? all : resolved;
}
