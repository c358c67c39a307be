import { getLoadBalancer, type LoadBalancer, type PickContext } from '../balancing/balancer.js';
import type { ResolvedLoadBalancer, ResolvedService } from '../config/resolve.js';
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
  /**
   * The endpoints the balancer may pick: those with no down reason, or all of
   * them in panic mode. Replaced whole (never edited) by {@link ServiceRuntime.refresh}.
   */
  usable: readonly EndpointState[] = [];
  /** True while fewer than `panicThreshold` percent of the endpoints are up, so all are used. */
  panic = false;

  constructor(config: ResolvedService, endpoints: readonly EndpointState[], balancer: LoadBalancer) {
    this.name = config.name;
    this.config = config;
    this.endpoints = endpoints;
    this.balancer = balancer;
    this.refresh(true);
  }

  /**
   * Recomputes {@link ServiceRuntime.usable} from the endpoints' down reasons
   * (control side) and hands a changed list to the balancer. Panic rule
   * (Envoy's): when fewer than `panicThreshold` percent are up, or none is,
   * every endpoint is usable. Returns true when panic mode changed.
   */
  refresh(force = false): boolean {
    const all = this.endpoints;
    let up: EndpointState[] | undefined;
    for (let i = 0; i < all.length; i++) {
      if (!all[i]!.up) {
        up = all.filter((e) => e.up);
        break;
      }
    }
    let usable: readonly EndpointState[] = up ?? all;
    let panic = false;
    if (up !== undefined && (up.length === 0 || up.length * 100 < this.config.panicThreshold * all.length)) {
      panic = true;
      usable = all;
    }
    const panicChanged = panic !== this.panic;
    this.panic = panic;
    if (force || !sameList(usable, this.usable)) {
      this.usable = usable;
      this.balancer.update(usable);
    }
    return panicChanged;
  }

  /** Picks an endpoint, preferring ones this request has not tried. */
  pick(context: PickContext): EndpointState | undefined {
    const picked = this.balancer.pick(context) as EndpointState | undefined;
    if (picked !== undefined || context.tried === undefined || context.tried.size === 0) return picked;
    return this.balancer.pick({ request: context.request, tried: undefined }) as EndpointState | undefined;
  }
}

function sameList(a: readonly EndpointState[], b: readonly EndpointState[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
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
