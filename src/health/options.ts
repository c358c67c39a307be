import { checkEnum, checkNumber, checkObject, join } from '../util/checks.js';
import { describe } from '../util/describe.js';
import type { ConfigIssue } from '../errors/mesh-error.js';

/** What a custom health check function is given. */
export interface HealthCheckTarget {
  /** The service. */
  readonly service: string;
  /** The endpoint URL, e.g. `http://10.0.0.1:8080`. */
  readonly url: string;
  /** Host name or IP address. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** Aborted when the check times out (`timeoutMs`). */
  readonly signal: AbortSignal;
}

/**
 * A custom health check: resolve `true` (or nothing) when the endpoint is
 * healthy; resolve `false` or throw when it is not. It must honour
 * `target.signal`; a check that outlives `timeoutMs` counts as failed.
 */
export type HealthCheckFunction = (target: HealthCheckTarget) => boolean | void | Promise<boolean | void>;

/** Health checking with every default filled in. */
export interface ResolvedHealthCheck {
  readonly type: 'http' | 'tcp' | 'custom';
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Inclusive status ranges. */
  readonly expectedStatuses: readonly (readonly [number, number])[];
  /** Inclusive status ranges that count towards the threshold instead of failing at once. */
  readonly retriableStatuses: readonly (readonly [number, number])[];
  readonly headers: Readonly<Record<string, string>>;
  readonly host: string | undefined;
  readonly check: HealthCheckFunction | undefined;
  readonly jitterPercent: number;
  readonly noTrafficIntervalMs: number;
}

/** Defaults of {@link HealthCheckOptions}. */
export const HEALTH_CHECK_DEFAULTS = Object.freeze({
  type: 'http' as const,
  path: '/healthz',
  intervalMs: 5_000,
  timeoutMs: 1_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  expectedStatuses: Object.freeze([Object.freeze([200, 299] as const)]),
  retriableStatuses: Object.freeze([] as const),
  jitterPercent: 10,
  noTrafficIntervalMs: 60_000,
});

const KEYS = [
  'type',
  'path',
  'intervalMs',
  'timeoutMs',
  'healthyThreshold',
  'unhealthyThreshold',
  'expectedStatuses',
  'retriableStatuses',
  'headers',
  'host',
  'check',
  'jitterPercent',
  'noTrafficIntervalMs',
];

/** Validates a `healthCheck` option; `undefined` or `false` means off. */
export function resolveHealthCheck(value: unknown, path: string, issues: ConfigIssue[]): ResolvedHealthCheck | undefined {
  if (value === undefined || value === false) return undefined;
  const o = checkObject(value, path, issues, KEYS);
  if (!o) return undefined;
  const d = HEALTH_CHECK_DEFAULTS;
  const int = { min: 1, integer: true };
  let check: HealthCheckFunction | undefined;
  if (o.check !== undefined) {
    if (typeof o.check === 'function') check = o.check as HealthCheckFunction;
    else issues.push({ path: join(path, 'check'), message: `expected a function, found ${describe(o.check)}` });
  }
  const type = checkEnum(o.type, join(path, 'type'), issues, ['http', 'tcp'], d.type);
  let checkPath: string = d.path;
  if (o.path !== undefined) {
    if (typeof o.path !== 'string' || !o.path.startsWith('/')) {
      issues.push({ path: join(path, 'path'), message: `expected a path starting with "/", found ${describe(o.path)}` });
    } else checkPath = o.path;
  }
  const intervalMs = checkNumber(o.intervalMs, join(path, 'intervalMs'), issues, int, d.intervalMs);
  const timeoutMs = checkNumber(o.timeoutMs, join(path, 'timeoutMs'), issues, int, d.timeoutMs);
  const statuses = checkStatuses(o.expectedStatuses, join(path, 'expectedStatuses'), issues, false);
  const retriable = checkStatuses(o.retriableStatuses, join(path, 'retriableStatuses'), issues, true);
  let headers: Record<string, string> = {};
  if (o.headers !== undefined) {
    const h = checkObject(o.headers, join(path, 'headers'), issues);
    if (h) {
      for (const [k, v] of Object.entries(h)) {
        if (typeof v !== 'string') issues.push({ path: join(join(path, 'headers'), k), message: `expected a string, found ${describe(v)}` });
      }
      headers = { ...(h as Record<string, string>) };
    }
  }
  let host: string | undefined;
  if (o.host !== undefined) {
    if (typeof o.host !== 'string' || o.host === '') issues.push({ path: join(path, 'host'), message: `expected a host name, found ${describe(o.host)}` });
    else host = o.host;
  }
  return Object.freeze({
    type: check ? 'custom' : type,
    path: checkPath,
    intervalMs,
    timeoutMs,
    healthyThreshold: checkNumber(o.healthyThreshold, join(path, 'healthyThreshold'), issues, int, d.healthyThreshold),
    unhealthyThreshold: checkNumber(o.unhealthyThreshold, join(path, 'unhealthyThreshold'), issues, int, d.unhealthyThreshold),
    expectedStatuses: statuses.length > 0 ? Object.freeze(statuses) : d.expectedStatuses,
    retriableStatuses: retriable.length > 0 ? Object.freeze(retriable) : d.retriableStatuses,
    headers: Object.freeze(headers),
    host,
    check,
    jitterPercent: checkNumber(o.jitterPercent, join(path, 'jitterPercent'), issues, { min: 0, max: 100 }, d.jitterPercent),
    noTrafficIntervalMs: checkNumber(o.noTrafficIntervalMs, join(path, 'noTrafficIntervalMs'), issues, int, d.noTrafficIntervalMs),
  });
}

/** Reads a list of statuses (`503`) and classes (`'5xx'`) into inclusive ranges. */
function checkStatuses(value: unknown, path: string, issues: ConfigIssue[], emptyOk: boolean): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  if (value === undefined) return out;
  if (!Array.isArray(value) || (!emptyOk && value.length === 0)) {
    issues.push({ path, message: `expected a${emptyOk ? 'n' : ' non-empty'} array, found ${describe(value)}` });
    return out;
  }
  value.forEach((s: unknown, i) => {
    if (typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599) out.push([s, s]);
    else if (typeof s === 'string' && /^[1-5]xx$/.test(s)) out.push([Number(s[0]) * 100, Number(s[0]) * 100 + 99]);
    else issues.push({ path: join(path, i), message: `expected a status (100-599) or a class like "2xx", found ${describe(s)}` });
  });
  return out;
}
