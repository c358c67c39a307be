import type { Static } from '@sinclair/typebox';
import { FAULT_ERROR_NAMES, FAULT_SPEC_SCHEMA } from './schema.js';
import { schemaIssues } from './validate.js';
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
export const FAULT_ERRORS: readonly FaultError[] = FAULT_ERROR_NAMES;

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
export interface FaultSpec extends Static<typeof FAULT_SPEC_SCHEMA> {}

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
  const issues = schemaIssues(spec, FAULT_SPEC_SCHEMA, path);
  // What the schema cannot say: an abort answers with a status or fails with an error, not both, not neither.
  const abort = (spec as Partial<FaultSpec> | null)?.abort as Record<string, unknown> | undefined;
  const abortPath = `${path}.abort`;
  if (
    typeof abort === 'object' &&
    abort !== null &&
    !issues.some((i) => i.path === abortPath || i.path.startsWith(`${abortPath}.`)) &&
    (abort.status === undefined) === (abort.error === undefined)
  ) {
    issues.push({ path: abortPath, message: 'expected exactly one of status and error' });
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
