import { asRecord, join } from '../util/checks.js';
import { describe } from '../util/describe.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { resolveFaults, type ResolvedFaults } from '../faults/spec.js';
import { compileMatcher, stringMatcher, type CompiledMatch, type RequestMatcher, type StringMatcher } from './match.js';

/** One weighted destination, validated. */
export interface ResolvedSplit {
  readonly weight: number;
  readonly subset: Readonly<Record<string, string>> | undefined;
  readonly service: string | undefined;
}

/** One route, validated and compiled. */
export interface ResolvedRoute {
  /** The route's index in the configured list (for error paths). */
  readonly index: number;
  readonly name: string;
  readonly matches: RequestMatcher;
  readonly split: readonly ResolvedSplit[];
  /** The route as configured, for the snapshot. */
  readonly source: unknown;
  /** The route's own fault injection: replaces the service's; `false` turns it off for this route; `undefined` inherits. */
  readonly faults: ResolvedFaults | false | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// The shape of `routes` (keys, types, one of exact/prefix/regex, non-empty
// splits, weights >= 0) is the schema's (src/routing/schema.ts): its
// structural pass reports it, and a configuration with structural issues is
// refused whole. What is left here is what a schema cannot say: duplicate
// route names, header and method tokens, regular expressions that do not
// compile, a destination naming both a subset and a service, weights
// summing to 0, and (checkRouteTargets) split targets.

/** Compiles `routes`; problems a schema cannot say go to `issues` with paths under `path`. */
export function resolveRoutes(value: unknown, path: string, issues: ConfigIssue[]): ResolvedRoute[] {
  if (!Array.isArray(value)) return [];
  const routes: ResolvedRoute[] = [];
  const names = new Set<string>();
  value.forEach((raw, i) => {
    const rpath = join(path, i);
    const before = issues.length;
    const r = asRecord(raw);
    if (!r) return;
    const name = typeof r.name === 'string' && r.name !== '' ? r.name : `route-${i}`;
    if (names.has(name)) issues.push({ path: join(rpath, 'name'), message: `duplicate route name "${name}"` });
    names.add(name);
    const matches = resolveMatch(r.match, join(rpath, 'match'), issues);
    const split = resolveSplit(r.split, join(rpath, 'split'), issues);
    const faults = resolveFaults(r.faults, join(rpath, 'faults'), issues);
    if (issues.length === before) routes.push(Object.freeze({ index: i, name, matches, split, source: raw, faults }));
  });
  return routes;
}

function resolveMatch(value: unknown, path: string, issues: ConfigIssue[]): RequestMatcher {
  const compiled: CompiledMatch = {};
  const m = asRecord(value);
  if (!m) return compileMatcher(compiled);
  const p = asRecord(m.path);
  if (p) {
    const ppath = join(path, 'path');
    if (typeof p.regex === 'string') {
      const re = compileRegex(p.regex, join(ppath, 'regex'), issues);
      if (re) compiled.path = { regex: re };
    } else if (typeof p.exact === 'string') compiled.path = { exact: p.exact };
    else if (typeof p.prefix === 'string') compiled.path = { prefix: p.prefix };
  }
  if (m.method !== undefined) {
    const mpath = join(path, 'method');
    const list: unknown[] = Array.isArray(m.method) ? m.method : [m.method];
    const methods = new Set<string>();
    list.forEach((x, i) => {
      if (typeof x !== 'string') return;
      if (!TOKEN.test(x)) issues.push({ path: Array.isArray(m.method) ? join(mpath, i) : mpath, message: `expected an HTTP method, found ${describe(x)}` });
      else methods.add(x.toUpperCase());
    });
    compiled.methods = methods;
  }
  if (m.headers !== undefined) compiled.headers = resolveStringMatches(m.headers, join(path, 'headers'), issues, (n) => n.toLowerCase(), true);
  if (m.query !== undefined) compiled.query = resolveStringMatches(m.query, join(path, 'query'), issues, (n) => n, false);
  return compileMatcher(compiled);
}

function resolveStringMatches(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  normalise: (name: string) => string,
  isHeader: boolean,
): [string, StringMatcher][] {
  const out: [string, StringMatcher][] = [];
  for (const [name, rule] of Object.entries(asRecord(value) ?? {})) {
    const rpath = join(path, name);
    if (isHeader && !TOKEN.test(name)) {
      issues.push({ path: rpath, message: `"${name}" is not a valid header name` });
      continue;
    }
    if (typeof rule === 'string') {
      out.push([normalise(name), stringMatcher(rule)]);
      continue;
    }
    const r = asRecord(rule);
    if (!r) continue;
    if (typeof r.present === 'boolean') out.push([normalise(name), stringMatcher({ present: r.present })]);
    else if (typeof r.regex === 'string') {
      if (compileRegex(r.regex, join(rpath, 'regex'), issues)) out.push([normalise(name), stringMatcher({ regex: r.regex })]);
    } else if (typeof r.exact === 'string') out.push([normalise(name), stringMatcher({ exact: r.exact })]);
  }
  return out;
}

function compileRegex(source: string, path: string, issues: ConfigIssue[]): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (error) {
    issues.push({ path, message: `invalid regular expression: ${(error as Error).message}` });
    return undefined;
  }
}

function resolveSplit(value: unknown, path: string, issues: ConfigIssue[]): ResolvedSplit[] {
  if (!Array.isArray(value)) return [];
  const out: ResolvedSplit[] = [];
  let total = 0;
  let shaped = value.length > 0;
  value.forEach((raw, i) => {
    const s = asRecord(raw);
    // A weight the schema refuses (not a finite number >= 0) was reported by the structural pass.
    if (!s || typeof s.weight !== 'number' || !(s.weight >= 0)) {
      shaped = false;
      return;
    }
    total += s.weight;
    const subset = asRecord(s.subset) ? Object.freeze({ ...(s.subset as Record<string, string>) }) : undefined;
    const service = typeof s.service === 'string' ? s.service : undefined;
    if (subset && service) {
      issues.push({ path: join(path, i), message: 'a destination is either a subset of this service or another service, not both' });
    }
    out.push(Object.freeze({ weight: s.weight, subset, service }));
  });
  if (shaped && total <= 0) issues.push({ path, message: 'the split weights sum to 0: no destination could ever be chosen' });
  return out;
}

/** True if `labels` include every label of `subset`. */
export function matchesSubset(labels: Readonly<Record<string, string>>, subset: Readonly<Record<string, string>>): boolean {
  for (const key in subset) if (labels[key] !== subset[key]) return false;
  return true;
}

/**
 * Cross-field checks once every service is known: split targets must be
 * configured services, and with static endpoints a subset must match one.
 */
export function checkRouteTargets(
  routes: readonly ResolvedRoute[],
  path: string,
  self: string,
  endpoints: readonly Endpoint[] | undefined,
  serviceNames: ReadonlySet<string>,
  issues: ConfigIssue[],
): void {
  routes.forEach((route) => {
    route.split.forEach((dest, j) => {
      const dpath = join(join(join(path, route.index), 'split'), j);
      if (dest.service !== undefined && !serviceNames.has(dest.service)) {
        issues.push({ path: join(dpath, 'service'), message: `unknown service "${dest.service}"` });
      }
      if (dest.service === self) {
        issues.push({ path: join(dpath, 'service'), message: 'a split to the service itself: use a subset or omit service' });
      }
      if (dest.subset && endpoints && endpoints.length > 0 && !endpoints.some((e) => matchesSubset(e.labels, dest.subset!))) {
        issues.push({
          path: join(dpath, 'subset'),
          message: `no endpoint has the labels ${JSON.stringify(dest.subset)}`,
        });
      }
    });
  });
}
