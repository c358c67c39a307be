/**
 * `{ ...source, ...fields }`, without the object spread, for the request
 * path.
 *
 * On Node 20 (V8 11.3) an object literal that spreads an object and then
 * adds properties the source lacks (`{ ...opts, headers }`) takes a slow
 * path for each added property, where Node 22 does not; `Object.assign` onto
 * a fresh object copies the same own enumerable properties on the fast path
 * (docs/benchmarks.md, "Object spreads on Node 20"). The one
 * difference: `Object.assign` sets where a spread defines, which only shows
 * for an own `__proto__` key in `source` (it sets the copy's prototype).
 *
 * The lint rule `no-restricted-syntax` in .ci/eslint.config.js forbids the
 * spread-then-property form in the request-path files.
 */
export function assignOver<S extends object, F extends object>(source: S | null | undefined, fields: F): Omit<S, keyof F> & F {
  return Object.assign({}, source, fields) as Omit<S, keyof F> & F;
}
