import type { ConfigIssue } from '../errors/mesh-error.js';
import type { FailureKind, Step } from './steps.js';

/**
 * Istio-style fault injection, in the shape of the (future) service option
 * `faults`: delay some calls, abort some others. Percentages are drawn per
 * call from a seeded random source, so a chaos test is reproducible.
 *
 * @example
 * ```ts
 * t.service('orders').faults({ delay: { percent: 20, ms: 300 }, abort: { percent: 5, status: 503 } });
 * ```
 */
export interface FaultSpec {
  /** Delay `percent`% of calls by `ms` test-clock milliseconds before they are answered. */
  delay?: {
    /** Share of calls delayed, 0 to 100. */
    percent: number;
    /** The added delay in milliseconds. */
    ms: number;
  };
  /** Abort `percent`% of calls: answer with `status` or fail with `error` instead of reaching the endpoint's script. */
  abort?: {
    /** Share of calls aborted, 0 to 100. */
    percent: number;
    /** The HTTP status to answer with (e.g. 503). Exactly one of `status` and `error`. */
    status?: number;
    /** The transport failure to report instead. Exactly one of `status` and `error`. */
    error?: FailureKind;
  };
}

/** What fault injection decided for one call. */
export interface FaultDecision {
  /** Added delay in milliseconds (0 when not delayed). */
  delayMs: number;
  /** The step that replaces the script's, when the call is aborted. */
  abort: Step | undefined;
}

const FAILURES: readonly string[] = ['connect-refused', 'connect-timeout', 'reset', 'timeout'];

/**
 * Checks a {@link FaultSpec} the way the mesh's config validator will: every
 * problem with its path under `path` (e.g. `services.orders.faults`).
 */
export function checkFaults(spec: unknown, path = 'faults'): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return [{ path, message: 'expected an object with delay and/or abort' }];
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
    if (typeof v !== 'object' || v === null) {
      issues.push({ path: `${path}.${part}`, message: 'expected an object' });
      continue;
    }
    const o = v as Record<string, unknown>;
    const allowed = part === 'delay' ? ['percent', 'ms'] : ['percent', 'status', 'error'];
    for (const key of Object.keys(o)) {
      if (!allowed.includes(key)) issues.push({ path: `${path}.${part}.${key}`, message: `unknown option (expected ${allowed.join(', ')})` });
    }
    percent(o.percent, `${path}.${part}.percent`);
    if (part === 'delay' && (typeof o.ms !== 'number' || !(o.ms >= 0))) {
      issues.push({ path: `${path}.delay.ms`, message: `expected milliseconds >= 0, found ${JSON.stringify(o.ms)}` });
    }
    if (part === 'abort') {
      if ((o.status === undefined) === (o.error === undefined)) {
        issues.push({ path: `${path}.abort`, message: 'expected exactly one of status and error' });
      } else if (o.status !== undefined && (typeof o.status !== 'number' || !Number.isInteger(o.status) || o.status < 100 || o.status > 599)) {
        issues.push({ path: `${path}.abort.status`, message: `expected an HTTP status 100-599, found ${JSON.stringify(o.status)}` });
      } else if (o.error !== undefined && !FAILURES.includes(o.error as string)) {
        issues.push({ path: `${path}.abort.error`, message: `expected one of ${FAILURES.join(', ')}, found ${JSON.stringify(o.error)}` });
      }
    }
  }
  return issues;
}

/**
 * Decides the faults of one call: two independent draws, delay first, then
 * abort (as Envoy's fault filter does).
 */
export function decideFault(spec: FaultSpec | undefined, random: () => number): FaultDecision {
  if (!spec) return { delayMs: 0, abort: undefined };
  const delayMs = spec.delay && random() * 100 < spec.delay.percent ? spec.delay.ms : 0;
  let abort: Step | undefined;
  if (spec.abort && random() * 100 < spec.abort.percent) {
    abort = spec.abort.status !== undefined ? { status: spec.abort.status, body: 'fault filter abort' } : { fail: spec.abort.error ?? 'reset' };
  }
  return { delayMs, abort };
}
