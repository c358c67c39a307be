import { Type } from '@sinclair/typebox';
import { code, int, oneOf, opt, percent, str, strings, described } from '../util/schema-blocks.js';

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

/** A status (`204`) or a class of statuses (`'2xx'`). */
const STATUS = Type.Union([int('A status.', 100, 599), Type.String({ pattern: '^[1-5]xx$' })], { expects: 'a status (100-599) or a class like "2xx"' });

/** `healthCheck`: active health checking (its defaults are read off this schema). */
export const HEALTH_CHECK_SCHEMA = Type.Object(
  {
    /** `'http'` or `'tcp'` (connect only). Ignored when `check` is given. Default 'http'. */
    type: opt(oneOf("'http' or 'tcp' (connect only).", ['http', 'tcp'], 'http')),
    /** HTTP path to GET. Default '/healthz'. */
    path: opt(Type.String({ ...described('The HTTP path checked.', '/healthz'), pattern: '^/', expects: 'a path starting with "/"' })),
    /** Time between checks of an endpoint, in milliseconds. Default 5,000. */
    intervalMs: opt(int('Time between checks, in milliseconds.', 1, undefined, 5_000)),
    /** Time a check may take, in milliseconds. Default 1,000. */
    timeoutMs: opt(int('Time a check may take, in milliseconds.', 1, undefined, 1_000)),
    /** Consecutive successes that make an unhealthy endpoint healthy. Default 2. */
    healthyThreshold: opt(int('Passes in a row that make an unhealthy endpoint healthy.', 1, undefined, 2)),
    /** Consecutive failures that make a healthy endpoint unhealthy. Default 3. */
    unhealthyThreshold: opt(int('Failures in a row that make a healthy endpoint unhealthy.', 1, undefined, 3)),
    /** Statuses that count as healthy: numbers (`204`) or classes (`'2xx'`). Default ['2xx']. */
    expectedStatuses: opt(Type.Array(STATUS, { ...described("Statuses that pass: numbers (204) or classes ('2xx').", ['2xx']), minItems: 1 })),
    /**
     * Failing statuses that only count towards `unhealthyThreshold` (Envoy's
     * `retriable_statuses`); any other status outside `expectedStatuses` marks
     * the endpoint unhealthy at once. Numbers or classes. Default [].
     */
    retriableStatuses: opt(
      Type.Array(STATUS, described("Failing statuses that count towards unhealthyThreshold instead of failing at once: numbers (503) or classes ('5xx').", [])),
    ),
    /** Extra request headers for HTTP checks. */
    headers: opt(strings('Headers sent with each check.')),
    /** The `Host` header of HTTP checks. Default: the service name. */
    host: opt(str('The Host header of checks. Default: the service name.')),
    /** A custom check, used instead of HTTP or TCP. */
    check: opt(code<HealthCheckFunction>('function', 'A custom check function (code only).')),
    /** Random spread added to each interval, in percent of it. Default 10. */
    jitterPercent: opt(percent('Random spread of intervals, in percent.', 10)),
    /**
     * Interval used for healthy endpoints while the service carries no
     * traffic, in milliseconds (Envoy's `no_traffic_interval`). An endpoint
     * that is unhealthy or failed its last check is checked every
     * `intervalMs`, and a service's first request re-arms sleeping checks.
     * Default 60,000.
     */
    noTrafficIntervalMs: opt(int('Interval for healthy endpoints while the service has no traffic, ms.', 1, undefined, 60_000)),
  },
  { description: 'Active health checking. See docs/health-checking.md.', additionalProperties: false },
);
