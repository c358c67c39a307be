import { checkNumber, checkObject, join } from '../util/checks.js';
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

const ROUTE_KEYS = ['name', 'match', 'split', 'faults'] as const;
const MATCH_KEYS = ['path', 'method', 'headers', 'query'] as const;
const SPLIT_KEYS = ['weight', 'subset', 'service'] as const;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Validates and compiles `routes`; problems go to `issues` with paths under `path`. */
export function resolveRoutes(value: unknown, path: string, issues: ConfigIssue[]): ResolvedRoute[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.push({ path, message: `expected an array of routes, found ${describe(value)}` });
    return [];
  }
  const routes: ResolvedRoute[] = [];
  const names = new Set<string>();
  value.forEach((raw, i) => {
    const rpath = join(path, i);
    const before = issues.length;
    const r = checkObject(raw, rpath, issues, ROUTE_KEYS);
    if (!r) return;
    let name = `route-${i}`;
    if (r.name !== undefined) {
      if (typeof r.name !== 'string' || r.name === '') {
        issues.push({ path: join(rpath, 'name'), message: `expected a non-empty string, found ${describe(r.name)}` });
      } else name = r.name;
    }
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
  if (value === undefined) return compileMatcher(compiled);
  const m = checkObject(value, path, issues, MATCH_KEYS);
  if (!m) return compileMatcher(compiled);
  if (m.path !== undefined) {
    const ppath = join(path, 'path');
    const p = checkObject(m.path, ppath, issues, ['exact', 'prefix', 'regex']);
    if (p) {
      const kinds = Object.keys(p);
      if (kinds.length !== 1) {
        issues.push({ path: ppath, message: `expected exactly one of exact, prefix, regex; found ${kinds.length}` });
      } else {
        const kind = kinds[0] as 'exact' | 'prefix' | 'regex';
        const v = p[kind];
        if (typeof v !== 'string') {
          issues.push({ path: join(ppath, kind), message: `expected a string, found ${describe(v)}` });
        } else if (kind === 'regex') {
          const re = compileRegex(v, join(ppath, kind), issues);
          if (re) compiled.path = { regex: re };
        } else if (!v.startsWith('/')) {
          issues.push({ path: join(ppath, kind), message: `a path starts with "/", found "${v}"` });
        } else compiled.path = kind === 'exact' ? { exact: v } : { prefix: v };
      }
    }
  }
  if (m.method !== undefined) {
    const mpath = join(path, 'method');
    const list = Array.isArray(m.method) ? m.method : [m.method];
    const methods = new Set<string>();
    list.forEach((x, i) => {
      if (typeof x !== 'string' || !TOKEN.test(x)) {
        issues.push({ path: Array.isArray(m.method) ? join(mpath, i) : mpath, message: `expected an HTTP method, found ${describe(x)}` });
      } else methods.add(x.toUpperCase());
    });
    if (list.length === 0) issues.push({ path: mpath, message: 'expected at least one method' });
    compiled.methods = methods;
  }
  if (m.headers !== undefined) {
    compiled.headers = resolveStringMatches(m.headers, join(path, 'headers'), issues, (n) => n.toLowerCase(), true);
  }
  if (m.query !== undefined) {
    compiled.query = resolveStringMatches(m.query, join(path, 'query'), issues, (n) => n, false);
  }
  return compileMatcher(compiled);
}

function resolveStringMatches(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  normalise: (name: string) => string,
  isHeader: boolean,
): [string, StringMatcher][] {
  const obj = checkObject(value, path, issues);
  const out: [string, StringMatcher][] = [];
  for (const [name, rule] of Object.entries(obj ?? {})) {
    const rpath = join(path, name);
    if (isHeader && !TOKEN.test(name)) {
      issues.push({ path: rpath, message: `"${name}" is not a valid header name` });
      continue;
    }
    if (typeof rule === 'string') {
      out.push([normalise(name), stringMatcher(rule)]);
      continue;
    }
    const r = checkObject(rule, rpath, issues, ['exact', 'regex', 'present']);
    if (!r) continue;
    const kinds = Object.keys(r);
    if (kinds.length !== 1) {
      issues.push({ path: rpath, message: `expected a string or exactly one of exact, regex, present; found ${kinds.length} keys` });
      continue;
    }
    const kind = kinds[0]!;
    const v = r[kind];
    if (kind === 'present') {
      if (typeof v !== 'boolean') issues.push({ path: join(rpath, kind), message: `expected true or false, found ${describe(v)}` });
      else out.push([normalise(name), stringMatcher({ present: v })]);
    } else if (typeof v !== 'string') {
      issues.push({ path: join(rpath, kind), message: `expected a string, found ${describe(v)}` });
    } else if (kind === 'regex') {
      if (compileRegex(v, join(rpath, kind), issues)) out.push([normalise(name), stringMatcher({ regex: v })]);
    } else out.push([normalise(name), stringMatcher({ exact: v })]);
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
  if (!Array.isArray(value) || value.length === 0) {
    issues.push({ path, message: `expected a non-empty array of { weight, subset? | service? }, found ${describe(value)}` });
    return [];
  }
  const out: ResolvedSplit[] = [];
  let total = 0;
  const before = issues.length;
  value.forEach((raw, i) => {
    const spath = join(path, i);
    const s = checkObject(raw, spath, issues, SPLIT_KEYS);
    if (!s) return;
    if (s.weight === undefined) issues.push({ path: join(spath, 'weight'), message: 'a weight is required' });
    const weight = checkNumber(s.weight, join(spath, 'weight'), issues, { min: 0 }, 0);
    total += weight;
    let subset: Record<string, string> | undefined;
    if (s.subset !== undefined) {
      const sub = checkObject(s.subset, join(spath, 'subset'), issues);
      if (sub) {
        for (const [k, v] of Object.entries(sub)) {
          if (typeof v !== 'string') issues.push({ path: join(join(spath, 'subset'), k), message: `expected a string, found ${describe(v)}` });
        }
        subset = Object.freeze({ ...(sub as Record<string, string>) });
      }
    }
    let service: string | undefined;
    if (s.service !== undefined) {
      if (typeof s.service !== 'string' || s.service === '') {
        issues.push({ path: join(spath, 'service'), message: `expected a service name, found ${describe(s.service)}` });
      } else service = s.service;
    }
    if (subset && service) {
      issues.push({ path: spath, message: 'a destination is either a subset of this service or another service, not both' });
    }
    out.push(Object.freeze({ weight, subset, service }));
  });
  if (issues.length === before && total <= 0) {
    issues.push({ path, message: 'the split weights sum to 0: no destination could ever be chosen' });
  }
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
