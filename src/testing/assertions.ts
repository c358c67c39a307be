import type { DecisionLog, RequestDecision } from './decision-log.js';
import type { EndpointCall } from './scripted-endpoint.js';

/**
 * Thrown by the kit's `expect*` helpers. Its message holds a line diff
 * (`- expected`, `+ actual`); `expected` and `actual` are the plain data
 * compared, so test runners that read them (vitest, jest) show their own
 * diff too.
 */
export class KitAssertionError extends Error {
  /** What the test expected. */
  readonly expected: unknown;
  /** What happened, reduced to the fields the expectation names. */
  readonly actual: unknown;
  /** Marks the error as an assertion failure for runners that look for it (node:assert style). */
  readonly code = 'ERR_ASSERTION';

  /** @param message - first line; @param expected - expected data; @param actual - actual data */
  constructor(message: string, expected: unknown, actual: unknown) {
    super(`${message}\n\n${diffValues(expected, actual)}`);
    this.name = 'KitAssertionError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** The result of comparing plain data with {@link compare}. */
export interface Comparison {
  /** True when `actual` matches `expected`. */
  pass: boolean;
  /** `actual` reduced to the fields `expected` names (what was compared). */
  actual: unknown;
  /** A readable line diff, empty when they match. */
  diff: string;
}

/**
 * Compares `actual` with `expected` the way the kit's helpers do: objects in
 * `expected` name the fields that matter (others in `actual` are ignored),
 * arrays must have the same length and match item by item, a `RegExp`
 * matches a string. Use it with any assertion library:
 * `assert.ok(compare(expected, actual).pass, compare(expected, actual).diff)`.
 */
export function compare(expected: unknown, actual: unknown): Comparison {
  const reduced = reduce(actual, expected);
  const pass = equal(expected, reduced);
  return { pass, actual: reduced, diff: pass ? '' : diffValues(expected, reduced) };
}

/** `actual` reduced to the shape of `expected` (fields expected names, recursively). */
function reduce(actual: unknown, expected: unknown): unknown {
  if (expected instanceof RegExp) return typeof actual === 'string' && expected.test(actual) ? expected : actual;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    // Items past the expected ones are shown in the shape of the expected items (all their fields together).
    const shape: Record<string, unknown> = {};
    for (const e of expected) if (isPlain(e)) Object.assign(shape, e);
    const extra = Object.keys(shape).length > 0 ? shape : undefined;
    return actual.map((a, i) => (i < expected.length ? reduce(a, expected[i]) : extra ? reduce(a, extra) : a));
  }
  if (isPlain(expected) && isPlain(actual)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(expected)) if (key in actual) out[key] = reduce(actual[key], expected[key]);
    return out;
  }
  return actual;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RegExp);
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && String(a) === String(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isPlain(a) && isPlain(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => equal(a[k], b[k]));
  }
  return Number.isNaN(a) && Number.isNaN(b);
}

/** Plain data as indented text with one field per line (stable, for diffs). */
export function formatValue(value: unknown, indent = ''): string {
  const next = `${indent}  `;
  if (value instanceof RegExp) return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${next}${formatValue(v, next)},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${next}${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${formatValue(v, next)},`).join('\n')}\n${indent}}`;
}

/** A line diff of two values' {@link formatValue} texts: `- ` expected only, `+ ` actual only, two spaces both. */
export function diffValues(expected: unknown, actual: unknown): string {
  const a = formatValue(expected).split('\n');
  const b = formatValue(actual).split('\n');
  // Longest common subsequence table (inputs are small: test expectations).
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out = ['- expected', '+ actual', ''];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i]}`);
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  return out.join('\n');
}

/** Selects calls: by service name, or by a {@link CallQuery}. */
export type CallFilter = string | CallQuery;

/** Selects calls by any of their fields; all given ones must match. */
export interface CallQuery {
  /** The service. */
  service?: string;
  /** The endpoint origin. */
  endpoint?: string;
  /** The method (any case). */
  method?: string;
  /** The exact path, or a pattern. */
  path?: string | RegExp;
}

/** Anything with a call history, like a test mesh from `createTestMesh`. */
export interface CallHistory {
  /** Calls received by endpoints, oldest first, optionally filtered. */
  calls(filter?: CallFilter): EndpointCall[];
}

/** Applies a {@link CallFilter}. */
export function filterCalls(calls: readonly EndpointCall[], filter?: CallFilter): EndpointCall[] {
  if (filter === undefined) return [...calls];
  const f = typeof filter === 'string' ? { service: filter } : filter;
  return calls.filter(
    (c) =>
      (f.service === undefined || c.service === f.service) &&
      (f.endpoint === undefined || c.endpoint === f.endpoint) &&
      (f.method === undefined || c.method === f.method.toUpperCase()) &&
      (f.path === undefined || (f.path instanceof RegExp ? f.path.test(c.path) : c.path === f.path)),
  );
}

/** Anything that has a call history: a test mesh, or calls themselves. */
export type CallSource = CallHistory | readonly EndpointCall[];

/** Deep partial: the fields of `T` a test cares about (strings may be `RegExp`). */
export type Expected<T> = T extends string
  ? string | RegExp
  : T extends readonly (infer U)[]
    ? Expected<U>[]
    : T extends object
      ? { [K in keyof T]?: Expected<T[K]> }
      : T;

/** The expectation returned by {@link expectCalls}. */
export interface CallsExpectation {
  /** The selected calls. */
  readonly calls: EndpointCall[];
  /** Asserts the calls, in order, match `expected` (each item names the fields that matter). */
  toEqual(expected: Expected<EndpointCall>[]): void;
  /** Asserts how many calls there were. */
  toHaveLength(count: number): void;
}

/**
 * Expectations on the calls endpoints received, e.g.
 * `expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }])`.
 * Throws {@link KitAssertionError} with a readable diff; no test framework needed.
 */
export function expectCalls(source: CallSource, filter?: CallFilter): CallsExpectation {
  const calls = Array.isArray(source) ? filterCalls(source as readonly EndpointCall[], filter) : (source as CallHistory).calls(filter);
  const what = `calls${filter === undefined ? '' : ` of ${typeof filter === 'string' ? filter : JSON.stringify(filter)}`}`;
  return {
    calls,
    toEqual(expected) {
      const r = compare(expected, calls);
      if (!r.pass) throw new KitAssertionError(`${what} do not match`, expected, r.actual);
    },
    toHaveLength(count) {
      if (calls.length !== count) {
        throw new KitAssertionError(`expected ${count} ${what}, found ${calls.length}`, count, calls.length);
      }
    },
  };
}

/** The expectation returned by {@link expectDecisions}. */
export interface DecisionsExpectation {
  /** The selected requests. */
  readonly requests: RequestDecision[];
  /** Asserts the logged requests, in order, match `expected` (each item names the fields that matter). */
  toEqual(expected: Expected<RequestDecision>[]): void;
  /** Asserts the endpoints tried per request, e.g. `[['http://a:80', 'http://b:80']]`. */
  toHaveTried(expected: string[][]): void;
}

/**
 * Expectations on the decision log: which endpoints each request tried, its
 * retries and refusals, its outcome. The failure message shows the diff
 * and the whole log, formatted.
 */
export function expectDecisions(source: { log: DecisionLog } | DecisionLog, service?: string): DecisionsExpectation {
  const log = 'log' in source ? source.log : source;
  const requests = log.requestsFor(service);
  const fail = (message: string, expected: unknown, actual: unknown): never => {
    const error = new KitAssertionError(message, expected, actual);
    error.message += `\n\ndecision log:\n${log.format()}`;
    throw error;
  };
  return {
    requests,
    toEqual(expected) {
      const r = compare(expected, requests);
      if (!r.pass) fail(`decisions${service ? ` of ${service}` : ''} do not match`, expected, r.actual);
    },
    toHaveTried(expected) {
      const tried = requests.map((r) => r.tried);
      if (!compare(expected, tried).pass) fail('endpoints tried do not match', expected, tried);
    },
  };
}
