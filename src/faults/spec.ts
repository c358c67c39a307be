import { Type, type Static } from '@sinclair/typebox';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { int, num, oneOf, opt, percent } from '../util/schema-blocks.js';
import { schemaIssues } from '../util/schema-issues.js';

/** The transport failures an injected abort can report, in one place. */
export const FAULT_ERROR_NAMES = Object.freeze(['connect-refused', 'connect-timeout', 'reset', 'timeout'] as const);

/** The schema of {@link FAULT_ERROR_NAMES}. */
export const FAULT_ERROR_SCHEMA = oneOf('Fail with this transport error instead of a response.', FAULT_ERROR_NAMES);

/** `faults` (services, routes): Istio-style fault injection; src/config/schema.ts composes it into the configuration. */
export const FAULT_SPEC_SCHEMA = Type.Object(
  {
    /** Delay `percent`% of calls by `ms` milliseconds (on the mesh clock) before they are sent. */
    delay: opt(
      Type.Object(
        {
          /** Share of calls delayed, 0 to 100. */
          percent: percent('Share of calls delayed, 0 to 100.'),
          /** The added delay in milliseconds. */
          ms: num('The added delay in milliseconds.', 0),
        },
        { description: 'Delay a share of calls before they are sent.', additionalProperties: false },
      ),
    ),
    /** Abort `percent`% of calls: answer with `status` or fail with `error`, without touching the network. */
    abort: opt(
      Type.Object(
        {
          /** Share of calls aborted, 0 to 100. */
          percent: percent('Share of calls aborted, 0 to 100.'),
          /** The HTTP status to answer with (e.g. 503). Exactly one of `status` and `error`. */
          status: opt(int('Answer with this HTTP status (200-599). Exactly one of status and error.', 200, 599)),
          /** The transport failure to report instead. Exactly one of `status` and `error`. */
          error: opt(FAULT_ERROR_SCHEMA),
        },
        { description: 'Abort a share of calls with a status or a transport error (exactly one).', additionalProperties: false },
      ),
    ),
  },
  {
    description: "Istio-style fault injection before sending; a route's faults replace the service's. Default off. See docs/fault-injection.md.",
    additionalProperties: false,
  },
);


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
  return [...issues, ...abortIssues(spec, path, issues)];
}

/**
 * What the schema cannot say: an abort answers with a status or fails with
 * an error, not both, not neither. Checked when the abort block itself fits
 * the schema (`shape` holds the structural issues of the spec).
 */
function abortIssues(spec: unknown, path: string, shape: readonly ConfigIssue[]): ConfigIssue[] {
  const abort = (spec as { abort?: unknown } | null)?.abort as Record<string, unknown> | undefined;
  const abortPath = `${path}.abort`;
  if (typeof abort !== 'object' || abort === null) return [];
  if (shape.some((i) => i.path === abortPath || i.path.startsWith(`${abortPath}.`))) return [];
  if ((abort.status === undefined) !== (abort.error === undefined)) return [];
  return [{ path: abortPath, message: 'expected exactly one of status and error' }];
}

/**
 * Resolves the `faults` option of a configuration at `path`, whose shape the
 * configuration's structural pass checked: `undefined` when absent or
 * malformed, `false` turns inherited faults off; the rule a schema cannot
 * say (status or error) goes to `issues`.
 */
export function resolveFaults(value: unknown, path: string, issues: ConfigIssue[]): ResolvedFaults | false | undefined {
  if (value === undefined) return undefined;
  if (value === false) return false;
  // The structural pass reported the shape; the abort rule is reported here.
  const shape = schemaIssues(value, FAULT_SPEC_SCHEMA, path);
  const found = abortIssues(value, path, shape);
  issues.push(...found);
  if (shape.length > 0 || found.length > 0) return undefined;
  const spec = value as FaultSpec;
  return Object.freeze({
    delay: spec.delay ? Object.freeze({ percent: spec.delay.percent, ms: spec.delay.ms }) : undefined,
    abort: spec.abort ? Object.freeze({ percent: spec.abort.percent, status: spec.abort.status, error: spec.abort.error }) : undefined,
  });
}
