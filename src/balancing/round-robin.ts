import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';

/**
 * `round-robin`: each endpoint in turn, ignoring weights. The position
 * survives endpoint updates, so a change in the set does not restart at the
 * first endpoint (and so overload it).
 */
export class RoundRobinBalancer implements LoadBalancer {
  #endpoints: readonly BalancerEndpoint[] = [];
  #next = 0;

  constructor(start = 0) {
    this.#next = start;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.#endpoints = endpoints;
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
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
  create: (_options, env) => new RoundRobinBalancer(Math.floor(env.random() * 1024)),
  validate: (options) =>
    Object.keys(options).map((key) => ({ path: key, message: `round-robin takes no option "${key}"` })),
};
