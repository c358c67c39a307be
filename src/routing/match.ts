import type { PickRequest } from '../balancing/balancer.js';

/** A compiled string condition. */
export type StringMatcher = (value: string | undefined) => boolean;

/** A compiled route condition over a request. */
export type RequestMatcher = (request: PickRequest) => boolean;

/** Compiles a validated {@link StringMatch}-like value. */
export function stringMatcher(
  rule: string | { exact?: string; regex?: string; present?: boolean },
): StringMatcher {
  if (typeof rule === 'string') return (v) => v === rule;
  if (rule.exact !== undefined) {
    const exact = rule.exact;
    return (v) => v === exact;
  }
  if (rule.regex !== undefined) {
    const re = new RegExp(`^(?:${rule.regex})$`);
    return (v) => v !== undefined && re.test(v);
  }
  const present = rule.present === true;
  return (v) => (v !== undefined) === present;
}

/** The path part (before `?`) of a request target. */
export function pathOnly(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

/** The first value of query parameter `name` in a request target, or undefined. */
export function queryParam(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q === -1) return undefined;
  return new URLSearchParams(path.slice(q + 1)).get(name) ?? undefined;
}

/** Compiled conditions of one route, checked in order of cost (method, path, headers, query). */
export interface CompiledMatch {
  methods?: ReadonlySet<string>;
  path?: { exact?: string; prefix?: string; regex?: RegExp };
  headers?: readonly [name: string, matcher: StringMatcher][];
  query?: readonly [name: string, matcher: StringMatcher][];
}

/** Builds the matcher function of a compiled match. */
export function compileMatcher(m: CompiledMatch): RequestMatcher {
  return (request) => {
    if (m.methods && !m.methods.has(request.method)) return false;
    if (m.path) {
      const p = pathOnly(request.path);
      if (m.path.exact !== undefined && p !== m.path.exact) return false;
      if (m.path.prefix !== undefined && !p.startsWith(m.path.prefix)) return false;
      if (m.path.regex !== undefined && !m.path.regex.test(p)) return false;
    }
    if (m.headers) for (const [name, match] of m.headers) if (!match(request.header(name))) return false;
    if (m.query) for (const [name, match] of m.query) if (!match(queryParam(request.path, name))) return false;
    return true;
  };
}
