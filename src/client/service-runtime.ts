import { getLoadBalancer, type LoadBalancer, type PickContext } from '../balancing/balancer.js';
import type { ResolvedLoadBalancer, ResolvedService } from '../config/resolve.js';
import type { ServiceResilience } from '../resilience/service-resilience.js';
import type { EndpointState } from './endpoint-state.js';

/**
 * One service under one configuration version: its endpoints and its
 * balancer. Requests capture the runtime they started with, so a config
 * update never changes a request halfway.
 */
export class ServiceRuntime {
  readonly name: string;
  readonly config: ResolvedService;
  readonly endpoints: readonly EndpointState[];
  readonly balancer: LoadBalancer;
  /** The resilience runtime of the service (kept across config versions). */
  readonly resilience: ServiceResilience<EndpointState>;
  /** The endpoints the balancer may pick: not behind an open breaker, not ejected (all of them in panic). */
  usable: readonly EndpointState[];

  constructor(
    config: ResolvedService,
    endpoints: readonly EndpointState[],
    balancer: LoadBalancer,
    resilience: ServiceResilience<EndpointState>,
  ) {
    this.name = config.name;
    this.config = config;
    this.endpoints = endpoints;
    this.balancer = balancer;
    this.resilience = resilience;
    this.usable = endpoints;
    balancer.update(endpoints);
  }

  /** Swaps in a new usable set (control side) and tells the balancer. */
  setUsable(usable: readonly EndpointState[]): void {
    if (usable.length === this.usable.length && usable.every((e, i) => e === this.usable[i])) return;
    this.usable = usable;
    this.balancer.update(usable);
  }

  /** Picks an endpoint, preferring ones this request has not tried. */
  pick(context: PickContext): EndpointState | undefined {
    const picked = this.balancer.pick(context) as EndpointState | undefined;
    if (picked !== undefined || context.tried === undefined || context.tried.size === 0) return picked;
    return this.balancer.pick({ request: context.request, tried: undefined }) as EndpointState | undefined;
  }
}

/** True when two balancer choices are the same policy with the same options. */
export function sameBalancer(a: ResolvedLoadBalancer, b: ResolvedLoadBalancer): boolean {
  return a.policy === b.policy && JSON.stringify(a.options) === JSON.stringify(b.options);
}

/** Builds a balancer from a resolved choice (the policy is known to exist: config validation checked it). */
export function createBalancer(
  choice: ResolvedLoadBalancer,
  env: { service: string; random: () => number; now: () => number },
): LoadBalancer {
  const definition = getLoadBalancer(choice.policy);
  if (!definition) throw new Error(`load balancer "${choice.policy}" is not registered`);
  return definition.create(choice.options, env);
}
