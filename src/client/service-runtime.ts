import { getLoadBalancer, type LoadBalancer, type PickContext } from '../balancing/balancer.js';
import type { ResolvedLoadBalancer, ResolvedService } from '../config/resolve.js';
import type { ServiceSecurity } from '../security/registry.js';
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
  /** The endpoints the balancer may pick (all of them until health checking marks some). */
  usable: readonly EndpointState[];
  /** TLS runtime, credential cache and `requireTls` of the service. */
  readonly security: ServiceSecurity | undefined;

  constructor(
    config: ResolvedService,
    endpoints: readonly EndpointState[],
    balancer: LoadBalancer,
    security?: ServiceSecurity,
  ) {
    this.name = config.name;
    this.security = security;
    this.config = config;
    this.endpoints = endpoints;
    this.balancer = balancer;
    this.usable = endpoints;
    balancer.update(endpoints);
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
