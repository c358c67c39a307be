import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';
import { NO_OPTIONS_SCHEMA } from './options.js';
import { WeightedRoundRobinBalancer } from './weighted-round-robin.js';

/**
 * `round-robin`: each endpoint in turn. As Envoy's `ROUND_ROBIN`, it respects
 * endpoint weights: while all weights are equal it is a plain rotation (a
 * counter, the cheapest pick there is), and when they differ (configured
 * weights, or weights ramping up in slow start) it schedules smoothly by
 * weight exactly like {@link WeightedRoundRobinBalancer}. The rotation's
 * position survives endpoint updates, so a change in the set does not restart
 * at the first endpoint (and so overload it).
 */
export class RoundRobinBalancer implements LoadBalancer {
  #endpoints: readonly BalancerEndpoint[] = [];
  #next = 0;
  /** The weighted schedule, while weights differ. */
  #weighted: WeightedRoundRobinBalancer | undefined;
  readonly #random: () => number;

  /**
   * @param start the rotation's first position (the mesh passes a random one).
   * @param random the random source for the weighted schedule's phases.
   */
  constructor(start = 0, random: () => number = Math.random) {
    this.#next = start;
    this.#random = random;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.#endpoints = endpoints;
    const first = endpoints[0]?.weight;
    let uniform = true;
    for (let i = 1; i < endpoints.length && uniform; i++) uniform = endpoints[i]!.weight === first;
    if (uniform) {
      this.#weighted = undefined;
      return;
    }
    this.#weighted ??= new WeightedRoundRobinBalancer(this.#random);
    this.#weighted.update(endpoints);
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
    if (this.#weighted !== undefined) return this.#weighted.pick(context);
    const list = this.#endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    const tried = context.tried;
    for (let i = 0; i < n; i++) {
      const index = this.#next++ % n;
      if (this.#next >= 0x3fffffff) this.#next = 0;
      const endpoint = list[index]!;
      if (tried === undefined || !tried.has(endpoint)) return endpoint;
    }
    return undefined;
  }
}

/** The `round-robin` policy. It takes no options. */
export const roundRobin: LoadBalancerDefinition = {
  options: NO_OPTIONS_SCHEMA,
  create: (_options, env) => new RoundRobinBalancer(Math.floor(env.random() * 1024), env.random),
};
