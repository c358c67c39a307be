import type { ConfigIssue } from '../errors/mesh-error.js';
import { defaultsOf } from '../util/schema-defaults.js';
import { HEALTH_CHECK_SCHEMA, type HealthCheckFunction } from './schema.js';

export type { HealthCheckFunction, HealthCheckTarget } from './schema.js';

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

const FILL = defaultsOf(HEALTH_CHECK_SCHEMA) as {
  type: 'http' | 'tcp';
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectedStatuses: (number | string)[];
  retriableStatuses: (number | string)[];
  jitterPercent: number;
  noTrafficIntervalMs: number;
};

/** The defaults of a `healthCheck` block, read off its schema (resolved: statuses as ranges). */
export const HEALTH_CHECK_DEFAULTS = Object.freeze({
  ...FILL,
  expectedStatuses: Object.freeze(statusRanges(FILL.expectedStatuses)),
  retriableStatuses: Object.freeze(statusRanges(FILL.retriableStatuses)),
});

/**
 * Resolves a `healthCheck` option over the schema's defaults; `undefined` or
 * `false` means off. Values out of bounds were reported by the schema's
 * structural pass (a configuration with structural issues is refused whole),
 * so this only fills in; a value that is not a block is off. `issues` is for
 * rules across fields (none today).
 */
export function resolveHealthCheck(value: unknown, _path: string, _issues: ConfigIssue[]): ResolvedHealthCheck | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Partial<typeof FILL> & { headers?: Record<string, string>; host?: string; check?: HealthCheckFunction };
  const d = HEALTH_CHECK_DEFAULTS;
  const check = typeof o.check === 'function' ? o.check : undefined;
  return Object.freeze({
    type: check ? 'custom' : (o.type ?? d.type),
    path: o.path ?? d.path,
    intervalMs: o.intervalMs ?? d.intervalMs,
    timeoutMs: o.timeoutMs ?? d.timeoutMs,
    healthyThreshold: o.healthyThreshold ?? d.healthyThreshold,
    unhealthyThreshold: o.unhealthyThreshold ?? d.unhealthyThreshold,
    expectedStatuses: Array.isArray(o.expectedStatuses) ? Object.freeze(statusRanges(o.expectedStatuses)) : d.expectedStatuses,
    retriableStatuses: Array.isArray(o.retriableStatuses) ? Object.freeze(statusRanges(o.retriableStatuses)) : d.retriableStatuses,
    headers: Object.freeze({ ...(o.headers ?? {}) }),
    host: o.host,
    check,
    jitterPercent: o.jitterPercent ?? d.jitterPercent,
    noTrafficIntervalMs: o.noTrafficIntervalMs ?? d.noTrafficIntervalMs,
  });
}

/** Statuses (`503`) and classes (`'5xx'`) as inclusive ranges; entries of any other shape (reported by the schema) are skipped. */
function statusRanges(list: readonly unknown[]): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  for (const s of list) {
    if (typeof s === 'number') out.push([s, s]);
    else if (typeof s === 'string' && /^[1-5]xx$/.test(s)) out.push([Number(s[0]) * 100, Number(s[0]) * 100 + 99]);
  }
  return out;
}
