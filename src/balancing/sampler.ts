import type { BalancerEndpoint } from './balancer.js';

/**
 * Draws endpoint indexes in proportion to endpoint `weight`: a uniform draw
 * when all weights are equal, else a binary search over cumulative weights
 * (O(log n), no allocation). Rebuilt by {@link WeightedSampler.update} on the
 * control side.
 */
export class WeightedSampler {
  /** Cumulative weights; empty when all weights are equal. */
  #cumulative = new Float64Array(0);
  #total = 0;
  #n = 0;

  /** Takes the new endpoint list (and their weights). */
  update(endpoints: readonly BalancerEndpoint[]): void {
    const n = endpoints.length;
    this.#n = n;
    const first = endpoints[0]?.weight;
    let uniform = true;
    for (let i = 1; i < n && uniform; i++) uniform = endpoints[i]!.weight === first;
    if (uniform) {
      this.#cumulative = new Float64Array(0);
      this.#total = n;
      return;
    }
    const cumulative = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += endpoints[i]!.weight;
      cumulative[i] = total;
    }
    this.#cumulative = cumulative;
    this.#total = total;
  }

  /** True when every endpoint has the same weight. */
  get uniform(): boolean {
    return this.#cumulative.length === 0;
  }

  /** An index in [0, n) drawn by weight with `r` in [0, 1); n must be > 0. */
  draw(r: number): number {
    const cumulative = this.#cumulative;
    if (cumulative.length === 0) return Math.floor(r * this.#n);
    const target = r * this.#total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
