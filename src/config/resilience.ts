import { describe } from '../util/describe.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { checkEnum, checkNumber, checkObject, join } from '../util/checks.js';
import { REQUEST_OVERRIDE_SCHEMA, RETRY_CONDITION_NAMES } from './schema.js';
import { mergeIssues, schemaIssues } from '../util/schema-issues.js';
import type { ResilienceOptions, RetryCondition } from './types.js';

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
export const RESILIENCE_KEYS = [
  'retry',
  'timeout',
  'circuitBreaker',
  'outlierDetection',
  'bulkhead',
  'hedge',
] as const;

const RETRY_CONDITIONS: readonly RetryCondition[] = RETRY_CONDITION_NAMES;
const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];
const MAX_ATTEMPTS = 10;

const BREAKER_DEFAULTS: ResolvedBreaker = Object.freeze({
  mode: 'consecutive',
  consecutiveFailures: 5,
  failureRatePercent: 50,
  samplingWindowMs: 10_000,
  minimumRequests: 20,
  halfOpenAfterMs: 1_000,
  maxHalfOpenAfterMs: 30_000,
  count5xx: false,
});

/** The built-in defaults of every resilience policy (documented in docs/resilience.md). */
export const RESILIENCE_DEFAULTS: ResolvedResilience = Object.freeze({
  retry: Object.freeze({
    attempts: 3,
    retryOn: new Set<RetryCondition>(['connect-failure', 'refused', 'reset', 'gateway-error', 'timeout']),
    backoff: Object.freeze({ baseMs: 25, maxMs: 250 }),
    budget: Object.freeze({ percent: 20, minRetriesPerSecond: 10, ttlMs: 10_000 }),
    methods: new Set(IDEMPOTENT),
    retryNonIdempotent: false,
    retriableStatusCodes: new Set<number>(),
    retryAfterMaxMs: 1_000,
  }),
  timeout: undefined,
  endpointBreaker: BREAKER_DEFAULTS,
  serviceBreaker: undefined,
  outlierDetection: Object.freeze({
    consecutive5xx: 5,
    consecutiveGatewayFailure: undefined,
    consecutiveLocalOriginFailure: undefined,
    intervalMs: 10_000,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 10,
    successRate: Object.freeze({ stdevFactor: 1.9, enforcementPercent: 100, minimumHosts: 5, requestVolume: 100 }),
    failurePercentage: undefined,
  }),
  bulkhead: undefined,
  hedge: undefined,
});

const TIMEOUT_FILL: ResolvedTimeout = Object.freeze({ perTryMs: undefined, totalMs: undefined });
const BULKHEAD_FILL = Object.freeze({ maxConcurrent: 1024, maxPending: 0 });
const HEDGE_FILL = Object.freeze({ delayMs: undefined, percentile: 95, minSamples: 20 });
const SUCCESS_RATE_FILL = RESILIENCE_DEFAULTS.outlierDetection!.successRate!;
const FAILURE_PERCENTAGE_FILL = Object.freeze({ threshold: 85, enforcementPercent: 100, minimumHosts: 5, requestVolume: 50 });

const ms = { min: 1, integer: true };
const count = { min: 1, integer: true };
const percent = { min: 0, max: 100 };

/**
 * Validates the resilience options of a service (or of `defaults`) at `path`
 * and merges them over `base`: a policy set to `false` is off, an object
 * overrides `base` field by field, an absent policy keeps `base`.
 */
export function resolveResilience(
  raw: ResilienceOptions & Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
  base: ResolvedResilience,
): ResolvedResilience {
  const r: ResolvedResilience = {
    retry: policy(raw.retry, join(path, 'retry'), issues, base.retry ?? RESILIENCE_DEFAULTS.retry!, base.retry, resolveRetry),
    timeout: policy(raw.timeout, join(path, 'timeout'), issues, base.timeout ?? TIMEOUT_FILL, base.timeout, resolveTimeout),
    endpointBreaker: base.endpointBreaker,
    serviceBreaker: base.serviceBreaker,
    outlierDetection: policy(
      raw.outlierDetection,
      join(path, 'outlierDetection'),
      issues,
      base.outlierDetection ?? RESILIENCE_DEFAULTS.outlierDetection!,
      base.outlierDetection,
      resolveOutlier,
    ),
    bulkhead: policy(raw.bulkhead, join(path, 'bulkhead'), issues, base.bulkhead ?? BULKHEAD_FILL, base.bulkhead, (v, p, i, b) => {
      const o = checkObject(v, p, i, ['maxConcurrent', 'maxPending'])!;
      return Object.freeze({
        maxConcurrent: checkNumber(o.maxConcurrent, join(p, 'maxConcurrent'), i, count, b.maxConcurrent),
        maxPending: checkNumber(o.maxPending, join(p, 'maxPending'), i, { min: 0, integer: true }, b.maxPending),
      });
    }),
    hedge: policy(raw.hedge, join(path, 'hedge'), issues, base.hedge ?? HEDGE_FILL, base.hedge, (v, p, i, b) => {
      const o = checkObject(v, p, i, ['delayMs', 'percentile', 'minSamples'])!;
      return Object.freeze({
        delayMs: o.delayMs === undefined ? b.delayMs : checkNumber(o.delayMs, join(p, 'delayMs'), i, { min: 0 }, 0),
        percentile: checkNumber(o.percentile, join(p, 'percentile'), i, { min: 1, max: 99.9 }, b.percentile),
        minSamples: checkNumber(o.minSamples, join(p, 'minSamples'), i, count, b.minSamples),
      });
    }),
  };
  let endpointBreaker = base.endpointBreaker;
  let serviceBreaker = base.serviceBreaker;
  const cbPath = join(path, 'circuitBreaker');
  if (raw.circuitBreaker === false) {
    endpointBreaker = undefined;
    serviceBreaker = undefined;
  } else if (raw.circuitBreaker !== undefined) {
    const o = checkObject(raw.circuitBreaker, cbPath, issues, [...BREAKER_KEYS, 'service']);
    if (o) {
      endpointBreaker = resolveBreaker(o, cbPath, issues, base.endpointBreaker ?? BREAKER_DEFAULTS);
      const s = o.service;
      const sPath = join(cbPath, 'service');
      if (s === false) serviceBreaker = undefined;
      else if (s === true) serviceBreaker = base.serviceBreaker ?? { ...BREAKER_DEFAULTS, count5xx: true };
      else if (s !== undefined) {
        const so = checkObject(s, sPath, issues, BREAKER_KEYS);
        if (so) serviceBreaker = resolveBreaker(so, sPath, issues, base.serviceBreaker ?? { ...BREAKER_DEFAULTS, count5xx: true });
      }
    }
  }
  // Checked where the timeout is written: a timeout inherited whole was
  // checked (and reported) at the level that set it.
  const t = r.timeout;
  const own = raw.timeout;
  if (typeof own === 'object' && own !== null && t?.perTryMs !== undefined && t.totalMs !== undefined && t.perTryMs > t.totalMs) {
    const wrotePerTry = (own as { perTryMs?: unknown }).perTryMs !== undefined;
    issues.push({
      path: join(join(path, 'timeout'), wrotePerTry ? 'perTryMs' : 'totalMs'),
      message: wrotePerTry
        ? `must be <= timeout.totalMs (${t.totalMs}), found ${t.perTryMs}`
        : `must be >= timeout.perTryMs (${t.perTryMs}), found ${t.totalMs}`,
    });
  }
  return Object.freeze({ ...r, endpointBreaker, serviceBreaker });
}

/** `undefined` keeps `inherited`; `false` turns off; an object is resolved over `fill`. */
function policy<T>(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  fill: T,
  inherited: T | undefined,
  resolve: (value: unknown, path: string, issues: ConfigIssue[], base: T) => T,
): T | undefined {
  if (value === undefined) return inherited;
  if (value === false) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path, message: `expected an object or false, found ${describe(value)}` });
    return inherited;
  }
  return resolve(value, path, issues, fill);
}

const RETRY_KEYS = [
  'attempts',
  'retryOn',
  'backoff',
  'budget',
  'methods',
  'retryNonIdempotent',
  'retriableStatusCodes',
  'retryAfterMaxMs',
];

function resolveRetry(value: unknown, path: string, issues: ConfigIssue[], b: ResolvedRetry): ResolvedRetry {
  const o = checkObject(value, path, issues, RETRY_KEYS)!;
  let retryOn = b.retryOn;
  if (o.retryOn !== undefined) {
    const list = stringList(o.retryOn, join(path, 'retryOn'), issues);
    const bad = list.filter((c) => !(RETRY_CONDITIONS as readonly string[]).includes(c));
    for (const c of bad) {
      issues.push({
        path: join(path, 'retryOn'),
        message: `unknown retry condition "${c}" (expected any of: ${RETRY_CONDITIONS.join(', ')})`,
      });
    }
    retryOn = new Set(list as RetryCondition[]);
  }
  let methods = b.methods;
  if (o.methods !== undefined) methods = new Set(stringList(o.methods, join(path, 'methods'), issues).map((m) => m.toUpperCase()));
  let codes = b.retriableStatusCodes;
  if (o.retriableStatusCodes !== undefined) {
    const p = join(path, 'retriableStatusCodes');
    if (!Array.isArray(o.retriableStatusCodes)) issues.push({ path: p, message: `expected an array of statuses, found ${describe(o.retriableStatusCodes)}` });
    else {
      codes = new Set(
        o.retriableStatusCodes.map((c, i) => checkNumber(c, join(p, i), issues, { min: 100, max: 599, integer: true }, 0)),
      );
    }
  }
  if (o.retryNonIdempotent !== undefined && typeof o.retryNonIdempotent !== 'boolean') {
    issues.push({ path: join(path, 'retryNonIdempotent'), message: `expected a boolean, found ${describe(o.retryNonIdempotent)}` });
  }
  const fillBackoff = b.backoff ?? RESILIENCE_DEFAULTS.retry!.backoff!;
  const fillBudget = b.budget ?? RESILIENCE_DEFAULTS.retry!.budget!;
  const backoff = policy(o.backoff, join(path, 'backoff'), issues, fillBackoff, b.backoff, (v, p, i, f) => {
    const bo = checkObject(v, p, i, ['baseMs', 'maxMs'])!;
    const baseMs = checkNumber(bo.baseMs, join(p, 'baseMs'), i, { min: 0 }, f.baseMs);
    const maxMs = checkNumber(bo.maxMs, join(p, 'maxMs'), i, { min: 0 }, Math.max(f.maxMs, baseMs));
    if (maxMs < baseMs) i.push({ path: join(p, 'maxMs'), message: `must be >= baseMs (${baseMs}), found ${maxMs}` });
    return Object.freeze({ baseMs, maxMs });
  });
  const budget = policy(o.budget, join(path, 'budget'), issues, fillBudget, b.budget, (v, p, i, f) => {
    const bo = checkObject(v, p, i, ['percent', 'minRetriesPerSecond', 'ttlMs'])!;
    return Object.freeze({
      percent: checkNumber(bo.percent, join(p, 'percent'), i, { min: 0, max: 1000 }, f.percent),
      minRetriesPerSecond: checkNumber(bo.minRetriesPerSecond, join(p, 'minRetriesPerSecond'), i, { min: 0 }, f.minRetriesPerSecond),
      ttlMs: checkNumber(bo.ttlMs, join(p, 'ttlMs'), i, { min: 100, max: 600_000, integer: true }, f.ttlMs),
    });
  });
  return Object.freeze({
    attempts: checkNumber(o.attempts, join(path, 'attempts'), issues, { min: 1, max: MAX_ATTEMPTS, integer: true }, b.attempts),
    retryOn,
    backoff,
    budget,
    methods,
    retryNonIdempotent: typeof o.retryNonIdempotent === 'boolean' ? o.retryNonIdempotent : b.retryNonIdempotent,
    retriableStatusCodes: codes,
    retryAfterMaxMs: checkNumber(o.retryAfterMaxMs, join(path, 'retryAfterMaxMs'), issues, { min: 0 }, b.retryAfterMaxMs),
  });
}

function resolveTimeout(value: unknown, path: string, issues: ConfigIssue[], b: ResolvedTimeout): ResolvedTimeout {
  const o = checkObject(value, path, issues, ['perTryMs', 'totalMs'])!;
  const perTryMs = o.perTryMs === undefined ? b.perTryMs : checkNumber(o.perTryMs, join(path, 'perTryMs'), issues, ms, 0);
  const totalMs = o.totalMs === undefined ? b.totalMs : checkNumber(o.totalMs, join(path, 'totalMs'), issues, ms, 0);
  return Object.freeze({ perTryMs: perTryMs || undefined, totalMs: totalMs || undefined });
}

const BREAKER_KEYS = [
  'mode',
  'consecutiveFailures',
  'failureRatePercent',
  'samplingWindowMs',
  'minimumRequests',
  'halfOpenAfterMs',
  'maxHalfOpenAfterMs',
  'count5xx',
];

function resolveBreaker(o: Record<string, unknown>, path: string, issues: ConfigIssue[], b: ResolvedBreaker): ResolvedBreaker {
  if (o.count5xx !== undefined && typeof o.count5xx !== 'boolean') {
    issues.push({ path: join(path, 'count5xx'), message: `expected a boolean, found ${describe(o.count5xx)}` });
  }
  return Object.freeze({
    mode: checkEnum(o.mode, join(path, 'mode'), issues, ['consecutive', 'sampling'], b.mode),
    consecutiveFailures: checkNumber(o.consecutiveFailures, join(path, 'consecutiveFailures'), issues, count, b.consecutiveFailures),
    failureRatePercent: checkNumber(
      o.failureRatePercent,
      join(path, 'failureRatePercent'),
      issues,
      { min: 0, exclusiveMin: true, max: 100 },
      b.failureRatePercent,
    ),
    samplingWindowMs: checkNumber(o.samplingWindowMs, join(path, 'samplingWindowMs'), issues, { min: 100, integer: true }, b.samplingWindowMs),
    minimumRequests: checkNumber(o.minimumRequests, join(path, 'minimumRequests'), issues, count, b.minimumRequests),
    halfOpenAfterMs: checkNumber(o.halfOpenAfterMs, join(path, 'halfOpenAfterMs'), issues, ms, b.halfOpenAfterMs),
    maxHalfOpenAfterMs: checkNumber(o.maxHalfOpenAfterMs, join(path, 'maxHalfOpenAfterMs'), issues, ms, b.maxHalfOpenAfterMs),
    count5xx: typeof o.count5xx === 'boolean' ? o.count5xx : b.count5xx,
  });
}

const OUTLIER_KEYS = [
  'consecutive5xx',
  'consecutiveGatewayFailure',
  'consecutiveLocalOriginFailure',
  'intervalMs',
  'baseEjectionTimeMs',
  'maxEjectionTimeMs',
  'maxEjectionPercent',
  'successRate',
  'failurePercentage',
];

function resolveOutlier(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  b: ResolvedOutlierDetection,
): ResolvedOutlierDetection {
  const o = checkObject(value, path, issues, OUTLIER_KEYS)!;
  const threshold = (key: string, fallback: number | undefined): number | undefined => {
    const v = o[key];
    if (v === undefined) return fallback;
    if (v === false) return undefined;
    return checkNumber(v, join(path, key), issues, count, fallback ?? 5);
  };
  const enforce = { min: 0, max: 100 };
  return Object.freeze({
    consecutive5xx: threshold('consecutive5xx', b.consecutive5xx),
    consecutiveGatewayFailure: threshold('consecutiveGatewayFailure', b.consecutiveGatewayFailure),
    consecutiveLocalOriginFailure: threshold('consecutiveLocalOriginFailure', b.consecutiveLocalOriginFailure),
    intervalMs: checkNumber(o.intervalMs, join(path, 'intervalMs'), issues, ms, b.intervalMs),
    baseEjectionTimeMs: checkNumber(o.baseEjectionTimeMs, join(path, 'baseEjectionTimeMs'), issues, ms, b.baseEjectionTimeMs),
    maxEjectionTimeMs: checkNumber(o.maxEjectionTimeMs, join(path, 'maxEjectionTimeMs'), issues, ms, b.maxEjectionTimeMs),
    maxEjectionPercent: checkNumber(o.maxEjectionPercent, join(path, 'maxEjectionPercent'), issues, percent, b.maxEjectionPercent),
    successRate: policy(o.successRate, join(path, 'successRate'), issues, b.successRate ?? SUCCESS_RATE_FILL, b.successRate, (v, p, i, f) => {
      const s = checkObject(v, p, i, ['stdevFactor', 'enforcementPercent', 'minimumHosts', 'requestVolume'])!;
      return Object.freeze({
        stdevFactor: checkNumber(s.stdevFactor, join(p, 'stdevFactor'), i, { min: 0 }, f.stdevFactor),
        enforcementPercent: checkNumber(s.enforcementPercent, join(p, 'enforcementPercent'), i, enforce, f.enforcementPercent),
        minimumHosts: checkNumber(s.minimumHosts, join(p, 'minimumHosts'), i, count, f.minimumHosts),
        requestVolume: checkNumber(s.requestVolume, join(p, 'requestVolume'), i, count, f.requestVolume),
      });
    }),
    failurePercentage: policy(
      o.failurePercentage,
      join(path, 'failurePercentage'),
      issues,
      b.failurePercentage ?? FAILURE_PERCENTAGE_FILL,
      b.failurePercentage,
      (v, p, i, f) => {
        const s = checkObject(v, p, i, ['threshold', 'enforcementPercent', 'minimumHosts', 'requestVolume'])!;
        return Object.freeze({
          threshold: checkNumber(s.threshold, join(p, 'threshold'), i, percent, f.threshold),
          enforcementPercent: checkNumber(s.enforcementPercent, join(p, 'enforcementPercent'), i, enforce, f.enforcementPercent),
          minimumHosts: checkNumber(s.minimumHosts, join(p, 'minimumHosts'), i, count, f.minimumHosts),
          requestVolume: checkNumber(s.requestVolume, join(p, 'requestVolume'), i, count, f.requestVolume),
        });
      },
    ),
  });
}

function stringList(value: unknown, path: string, issues: ConfigIssue[]): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    issues.push({ path, message: `expected an array of strings, found ${describe(value)}` });
    return [];
  }
  return value as string[];
}

/** The per-request overrides a request may carry (`mesh.request(url, { mesh: { ... } })`). */
export const REQUEST_OVERRIDE_KEYS = ['retry', 'timeout', 'hedge'] as const;

/**
 * Resolves per-request overrides over the service's policies (STYLE 5: a
 * request's options override the configured ones). Paths in issues start at
 * `mesh`. The retry budget stays per service: `mesh.retry.budget` is refused.
 */
export function resolveRequestResilience(value: unknown, base: ResolvedResilience): ResolvedResilience | ConfigIssue[] {
  const structural = schemaIssues(value, REQUEST_OVERRIDE_SCHEMA, 'mesh');
  const issues: ConfigIssue[] = [];
  const o = checkObject(value, 'mesh', issues, REQUEST_OVERRIDE_KEYS);
  if (!o) return mergeIssues(structural, issues);
  const retry = o.retry as Record<string, unknown> | false | undefined;
  if (retry && typeof retry === 'object' && retry.budget !== undefined) {
    issues.push({ path: 'mesh.retry.budget', message: 'the retry budget is per service; set it in the service configuration' });
  }
  const resolved = resolveResilience(o, 'mesh', issues, base);
  const all = mergeIssues(structural, issues);
  return all.length > 0 ? all : resolved;
}
