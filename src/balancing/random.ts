import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';
import { NO_OPTIONS_SCHEMA } from './options.js';
import { WeightedSampler } from './sampler.js';

/**
 * `random`: a random endpoint, weighted by endpoint `weight` (O(1) per pick
 * with the alias method, see {@link WeightedSampler}).
 * Uses the mesh's random source, so tests can seed it.
 */
export class RandomBalancer implements LoadBalancer {
  #endpoints: readonly BalancerEndpoint[] = [];
  readonly #sampler = new WeightedSampler();
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.#endpoints = endpoints;
    this.#sampler.update(endpoints);
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
    const list = this.#endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    const first = list[this.#sampler.draw(this.#random())]!;
    const tried = context.tried;
    if (tried === undefined || !tried.has(first)) return first;
    // Some endpoints were tried: draw again a few times, then scan in order.
    for (let i = 0; i < 3; i++) {
      const e = list[this.#sampler.draw(this.#random())]!;
      if (!tried.has(e)) return e;
    }
    const start = Math.floor(this.#random() * n);
    for (let i = 0; i < n; i++) {
      const e = list[(start + i) % n]!;
      if (!tried.has(e)) return e;
    }
    return undefined;
  }
}

/** The `random` policy (weighted). It takes no options. */
export const random: LoadBalancerDefinition = {
  options: NO_OPTIONS_SCHEMA,
  create: (_options, env) => new RandomBalancer(env.random),
};
