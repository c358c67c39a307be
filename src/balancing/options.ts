import { Type } from '@sinclair/typebox';
import type { BalancerEndpoint } from './balancer.js';

/** The options schema of a policy that takes none (`round-robin`, `random`, `weighted-round-robin`). */
export const NO_OPTIONS_SCHEMA = Type.Object({}, { description: 'No options.', additionalProperties: false });

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
