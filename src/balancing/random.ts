import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';

/**
 * `random`: a uniformly random endpoint, weighted by endpoint `weight`.
 * Uses the mesh's random source, so tests can seed it.
 */
export class RandomBalancer implements LoadBalancer {
  #endpoints: readonly BalancerEndpoint[] = [];
  /** Cumulative weights, parallel to #endpoints; empty when all weights are equal. */
  #cumulative: number[] = [];
  #total = 0;
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.#endpoints = endpoints;
    const uniform = endpoints.every((e) => e.weight === endpoints[0]?.weight);
    this.#cumulative = [];
    this.#total = 0;
    if (!uniform) {
      for (const e of endpoints) {
        this.#total += e.weight;
        this.#cumulative.push(this.#total);
      }
    }
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
    const list = this.#endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    const first = this.#draw();
    const tried = context.tried;
    if (tried === undefined || !tried.has(first)) return first;
    // Some endpoints were tried: draw again a few times, then scan in order.
    for (let i = 0; i < 3; i++) {
      const e = this.#draw();
      if (!tried.has(e)) return e;
    }
    const start = Math.floor(this.#random() * n);
    for (let i = 0; i < n; i++) {
      const e = list[(start + i) % n]!;
      if (!tried.has(e)) return e;
    }
    return undefined;
  }

  #draw(): BalancerEndpoint {
    const list = this.#endpoints;
    if (this.#cumulative.length === 0) return list[Math.floor(this.#random() * list.length)]!;
    const target = this.#random() * this.#total;
    // Binary search for the first cumulative weight above target.
    let lo = 0;
    let hi = this.#cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return list[lo]!;
  }
}

/** The `random` policy (weighted). It takes no options. */
export const random: LoadBalancerDefinition = {
  create: (_options, env) => new RandomBalancer(env.random),
  validate: (options) =>
    Object.keys(options).map((key) => ({ path: key, message: `random takes no option "${key}"` })),
};
