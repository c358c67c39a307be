import type { BalancerEndpoint } from './balancer.js';

/**
 * Draws endpoint indexes in proportion to endpoint `weight` in O(1) with
 * Walker's alias method (Vose's construction): a uniform draw picks a column,
 * and the same random number's remainder decides between the column's own
 * endpoint and its alias. When all weights are equal it is a plain uniform
 * draw. Built by {@link WeightedSampler.update} on the control side in O(n);
 * a draw allocates nothing.
 */
export class WeightedSampler {
  /** Probability of keeping column i's own endpoint; empty when all weights are equal. */
  #keep = new Float64Array(0);
  #alias = new Int32Array(0);
  #n = 0;

  /** Takes the new endpoint list (and their weights). */
  update(endpoints: readonly BalancerEndpoint[]): void {
    const n = endpoints.length;
    this.#n = n;
    const first = endpoints[0]?.weight;
    let uniform = true;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = endpoints[i]!.weight;
      total += w;
      if (w !== first) uniform = false;
    }
    if (uniform) {
      this.#keep = new Float64Array(0);
      this.#alias = new Int32Array(0);
      return;
    }
    const keep = new Float64Array(n);
    const alias = new Int32Array(n);
    // Columns scaled so the average is 1; split into under- and over-full.
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      keep[i] = (endpoints[i]!.weight * n) / total;
      alias[i] = i;
      if (keep[i]! < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns]!;
      const l = large[nl - 1]!;
      alias[s] = l;
      keep[l] = keep[l]! + keep[s]! - 1;
      if (keep[l]! < 1) {
        nl--;
        small[ns++] = l;
      }
    }
    // Whatever is left is full up to rounding.
    while (nl > 0) keep[large[--nl]!] = 1;
    while (ns > 0) keep[small[--ns]!] = 1;
    this.#keep = keep;
    this.#alias = alias;
  }

  /** True when every endpoint has the same weight. */
  get uniform(): boolean {
    return this.#keep.length === 0;
  }

  /** An index in [0, n) drawn by weight with `r` in [0, 1); n must be > 0. */
  draw(r: number): number {
    const x = r * this.#n;
    const i = Math.floor(x);
    const keep = this.#keep;
    if (keep.length === 0) return i;
    return x - i < keep[i]! ? i : this.#alias[i]!;
  }
}
