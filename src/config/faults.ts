import type { ConfigIssue } from '../errors/mesh-error.js';

/**
 * The transport failure an aborted call reports instead of a response,
 * named after what a real network does (the same names as the test kit's
 * scripted failures).
 */
export type FaultError =
  /** The connection is refused (`ECONNREFUSED`): nothing was sent. */
  | 'connect-refused'
  /** Connecting takes too long: nothing was sent. */
  | 'connect-timeout'
  /** The connection is reset (`ECONNRESET`). */
  | 'reset'
  /** No response in time. */
  | 'timeout';

/** The {@link FaultError} names, in one place. */
export const FAULT_ERRORS: readonly FaultError[] = Object.freeze(['connect-refused', 'connect-timeout', 'reset', 'timeout']);

/**
 * Istio-style fault injection (the service and route option `faults`, and the
 * test kit's `faults(...)`): delay some calls, abort some others. Each
 * percentage is drawn per request from the mesh's seeded `random`, so a
 * chaos drill is reproducible. See docs/fault-injection.md.
 *
 * @example
 * ```ts
 * { faults: { delay: { percent: 20, ms: 300 }, abort: { percent: 5, status: 503 } } }
 * ```
 */
export interface FaultSpec {
  /** Delay `percent`% of calls by `ms` milliseconds (on the mesh clock) before they are sent. */
  delay?: {
    /** Share of calls delayed, 0 to 100. */
    percent: number;
    /** The added delay in milliseconds. */
    ms: number;
  };
  /** Abort `percent`% of calls: answer with `status` or fail with `error`, without touching the network. */
  abort?: {
    /** Share of calls aborted, 0 to 100. */
    percent: number;
    /** The HTTP status to answer with (e.g. 503). Exactly one of `status` and `error`. */
    status?: number;
    /** The transport failure to report instead. Exactly one of `status` and `error`. */
    error?: FaultError;
  };
}

/** A validated {@link FaultSpec}, frozen. */
export type ResolvedFaults = Readonly<{
  delay: Readonly<{ percent: number; ms: number }> | undefined;
  abort: Readonly<{ percent: number; status: number | undefined; error: FaultError | undefined }> | undefined;
}>;

/**
 * Checks a {@link FaultSpec}: every problem with its path under `path`
 * (e.g. `services.orders.faults`). The one implementation used by the mesh's
 * config validator and by the test kit.
 */
export function checkFaults(spec: unknown, path = 'faults'): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return [{ path, message: `expected an object with delay and/or abort, found ${JSON.stringify(spec) ?? String(spec)}` }];
  }
  const raw = spec as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key !== 'delay' && key !== 'abort') issues.push({ path: `${path}.${key}`, message: 'unknown option (expected delay or abort)' });
  }
  const percent = (value: unknown, at: string) => {
    if (typeof value !== 'number' || !(value >= 0 && value <= 100)) {
      issues.push({ path: at, message: `expected a percentage from 0 to 100, found ${JSON.stringify(value)}` });
    }
  };
  for (const part of ['delay', 'abort'] as const) {
    const v = raw[part];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      issues.push({ path: `${path}.${part}`, message: `expected an object, found ${JSON.stringify(v)}` });
      continue;
    }
    const o = v as Record<string, unknown>;
    const allowed = part === 'delay' ? ['percent', 'ms'] : ['percent', 'status', 'error'];
    for (const key of Object.keys(o)) {
      if (!allowed.includes(key)) issues.push({ path: `${path}.${part}.${key}`, message: `unknown option (expected ${allowed.join(', ')})` });
    }
    percent(o.percent, `${path}.${part}.percent`);
    if (part === 'delay' && (typeof o.ms !== 'number' || !Number.isFinite(o.ms) || !(o.ms >= 0))) {
      issues.push({ path: `${path}.delay.ms`, message: `expected milliseconds >= 0, found ${JSON.stringify(o.ms)}` });
    }
    if (part === 'abort') {
      if ((o.status === undefined) === (o.error === undefined)) {
        issues.push({ path: `${path}.abort`, message: 'expected exactly one of status and error' });
      } else if (o.status !== undefined && (typeof o.status !== 'number' || !Number.isInteger(o.status) || o.status < 200 || o.status > 599)) {
        issues.push({ path: `${path}.abort.status`, message: `expected an HTTP status 200-599, found ${JSON.stringify(o.status)}` });
      } else if (o.error !== undefined && !(FAULT_ERRORS as readonly unknown[]).includes(o.error)) {
        issues.push({ path: `${path}.abort.error`, message: `expected one of ${FAULT_ERRORS.join(', ')}, found ${JSON.stringify(o.error)}` });
      }
    }
  }
  return issues;
}

/**
 * Validates the `faults` option at `path`; `undefined` when absent, `false`
 * or invalid (problems go to `issues`). `false` turns inherited faults off.
 */
export function resolveFaults(value: unknown, path: string, issues: ConfigIssue[]): ResolvedFaults | false | undefined {
  if (value === undefined) return undefined;
  if (value === false) return false;
  const found = checkFaults(value, path);
  if (found.length > 0) {
    issues.push(...found);
    return undefined;
  }
  const spec = value as FaultSpec;
  return Object.freeze({
    delay: spec.delay ? Object.freeze({ percent: spec.delay.percent, ms: spec.delay.ms }) : undefined,
    abort: spec.abort ? Object.freeze({ percent: spec.abort.percent, status: spec.abort.status, error: spec.abort.error }) : undefined,
  });
}
