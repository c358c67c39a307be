import { checkNumber, type NumberRule } from '../util/checks.js';
import type { BalancerEndpoint } from './balancer.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { unknownOptionMessage } from '../util/suggest.js';

/**
 * Records an issue for every option name not in `allowed`, so a typo in an
 * option is an error rather than silently ignored. Paths are relative to
 * the options object, as {@link LoadBalancerDefinition.validate} requires.
 */
export function checkOptionNames(
  policy: string,
  options: Record<string, unknown>,
  allowed: readonly string[],
  issues: ConfigIssue[],
): void {
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    issues.push({
      path: key,
      message:
        allowed.length === 0
          ? `${policy} takes no option "${key}"`
          : unknownOptionMessage(key, allowed, `for ${policy}`),
    });
  }
}

/** Checks an optional numeric option; returns it, or `fallback` when absent or invalid. */
export function numberOption(
  options: Record<string, unknown>,
  key: string,
  issues: ConfigIssue[],
  rule: NumberRule,
  fallback: number,
): number {
  return checkNumber(options[key], key, issues, rule, fallback);
}

/** True when `n` is a prime number (trial division; option values are small). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Remembers an endpoint list (identities and weights) so that a balancer
 * whose rebuild is costly (a ring, a table) can skip it when `update()` is
 * called with the same endpoints again, as happens on every config update.
 */
export class EndpointListMemo {
  #endpoints: readonly BalancerEndpoint[] = [];
  #weights = new Float64Array(0);

  /** True when `endpoints` has the same endpoints, weights and order as last time; remembers it otherwise. */
  unchanged(endpoints: readonly BalancerEndpoint[]): boolean {
    const n = endpoints.length;
    let same = n === this.#endpoints.length && n > 0;
    for (let i = 0; i < n && same; i++) {
      same = endpoints[i] === this.#endpoints[i] && endpoints[i]!.weight === this.#weights[i];
    }
    if (same) return true;
    this.#endpoints = endpoints;
    this.#weights = new Float64Array(n);
    for (let i = 0; i < n; i++) this.#weights[i] = endpoints[i]!.weight;
    return false;
  }
}
