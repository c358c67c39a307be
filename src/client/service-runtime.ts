import { getLoadBalancer } from '../balancing/registry.js';
import { type LoadBalancer, type PickRequest } from '../balancing/balancer.js';
import type { ResolvedFaults } from '../faults/spec.js';
import type { ResolvedLoadBalancer, ResolvedService } from '../config/resolve.js';
import { matchesSubset, type ResolvedRoute } from '../routing/resolve-routes.js';
import { Picker } from '../routing/picker.js';
import type { ServiceSecurity } from '../security/registry.js';
import type { ServiceResilience } from '../resilience/service-resilience.js';
import type { EndpointState } from './endpoint-state.js';

/** What a service runtime needs from its client. */
export interface RuntimeEnvironment {
  readonly random: () => number;
  readonly now: () => number;
  /** The runtime of another service in the same configuration version. */
  lookup(service: string): ServiceRuntime | undefined;
  /** A destination of this service entered (true) or left (false) panic. */
  onPanic(service: string, destination: string, entering: boolean, detail: PanicDetail): void;
}

/**
 * Told of a service's requests while it asks to be: the active health
 * checker, whose checks sleep at the no-traffic interval until the first one.
 */
export interface TrafficListener {
  /** True while the listener wants the next request (read once per request). */
  readonly waiting: boolean;
  /** A request for the service arrived while `waiting`. */
  onTraffic(): void;
}

/** The numbers behind a panic transition. */
export interface PanicDetail {
  /** Usable endpoints of the destination. */
  readonly up: number;
  /** All endpoints of the destination. */
  readonly total: number;
  /** The panic threshold in percent. */
  readonly threshold: number;
}

/** Where one request goes: the picker of a destination, and the route that chose it. */
export interface Destination {
  readonly picker: Picker<EndpointState>;
  /** The route name, or undefined when no route matched (the whole service). */
  readonly route: string | undefined;
  /** The destination's name: `service`, `service[subset]` or another service's name. */
  readonly name: string;
  /** The fault injection that applies (the route's, else the service's), if any. */
  readonly faults: ResolvedFaults | undefined;
}

interface CompiledSplit {
  readonly upTo: number;
  readonly picker: Picker<EndpointState> | undefined;
  readonly service: string | undefined;
  readonly name: string;
}

interface CompiledRoute {
  readonly route: ResolvedRoute;
  readonly total: number;
  readonly split: readonly CompiledSplit[];
  readonly faults: ResolvedFaults | undefined;
}

/**
 * One service under one configuration version: its endpoints, its routes
 * and one {@link Picker} per destination (the whole service and each subset a
 * route names). Requests capture the runtime they started with, so a config
 * update never changes a request halfway.
 */
export class ServiceRuntime {
  readonly name: string;
  readonly config: ResolvedService;
  readonly endpoints: readonly EndpointState[];
  /** The picker over all endpoints: used when no route matches and for splits from other services. */
  readonly main: Picker<EndpointState>;
  /** Pickers by destination key (`*` for the whole service, a subset's JSON otherwise). */
  readonly pickers: ReadonlyMap<string, Picker<EndpointState>>;
  /** The resilience runtime of the service (kept across config versions). */
  readonly resilience: ServiceResilience<EndpointState> | undefined;
  /** The endpoints that may be picked now (all of them until health marks some). */
  usable: readonly EndpointState[];
  readonly #routes: readonly CompiledRoute[];
  readonly #env: RuntimeEnvironment;
  readonly #mainDestination: Destination;
  /** TLS runtime, credential cache and `requireTls` of the service. */
  readonly security: ServiceSecurity | undefined;
  /** Told of the next request when waiting (set by the client: the service's health checker). */
  traffic: TrafficListener | undefined;

  constructor(
    config: ResolvedService,
    endpoints: readonly EndpointState[],
    env: RuntimeEnvironment,
    previous?: ServiceRuntime,
    security?: ServiceSecurity,
    resilience?: ServiceResilience<EndpointState>,
  ) {
    this.name = config.name;
    this.security = security;
    this.config = config;
    this.endpoints = endpoints;
    this.resilience = resilience;
    this.usable = endpoints;
    this.#env = env;
    const reuse = previous !== undefined && sameBalancer(previous.config.loadBalancer, config.loadBalancer);
    const pickers = new Map<string, Picker<EndpointState>>();
    const options = {
      localZone: config.localZone,
      overprovisioningFactor: config.overprovisioningFactor,
      panicThreshold: config.panicThreshold,
    };
    const makePicker = (key: string, members: readonly EndpointState[]): Picker<EndpointState> => {
      let picker = pickers.get(key);
      if (picker) return picker;
      const before = previous?.pickers.get(key);
      const inherited = reuse ? before?.balancers : undefined;
      picker = new Picker(members, options, env.random, () => createBalancer(config.loadBalancer, { service: this.name, random: env.random, now: env.now }), inherited);
      // Carry the panic state over, so only real transitions are reported.
      picker.panic = before?.panic ?? false;
      pickers.set(key, picker);
      return picker;
    };
    this.main = makePicker('*', endpoints);
    this.#routes = config.routes.map((route) => {
      let total = 0;
      const split = route.split.map((dest): CompiledSplit => {
        total += dest.weight;
        if (dest.service !== undefined) return { upTo: total, picker: undefined, service: dest.service, name: dest.service };
        if (dest.subset === undefined) return { upTo: total, picker: this.main, service: undefined, name: this.name };
        const key = subsetKey(dest.subset);
        const members = endpoints.filter((e) => matchesSubset(e.labels, dest.subset!));
        return { upTo: total, picker: makePicker(key, members), service: undefined, name: `${this.name}[${key}]` };
      });
      const faults = route.faults === undefined ? config.faults : route.faults || undefined;
      return { route, total, split, faults };
    });
    this.pickers = pickers;
    this.#mainDestination = { picker: this.main, route: undefined, name: this.name, faults: config.faults };
    this.refresh(true);
  }

  /** True while the whole-service destination is below its panic threshold (all endpoints used). */
  get panic(): boolean {
    return this.main.panic;
  }

  /**
   * Recomputes which endpoints may be picked from their down reasons
   * (unhealthy, ejected, circuit-open, draining; control side) and hands the
   * result to {@link ServiceRuntime.setUsable}, which applies priority,
   * locality and the panic threshold per destination. Returns true when the
   * whole service entered or left panic.
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
    const before = this.main.panic;
    // In panic the groups also depend on which endpoints are circuit-open (Picker.refresh), not only on usable.
    if (force || this.main.panic || !sameList(up ?? all, this.usable)) this.setUsable(up);
    return before !== this.main.panic;  }

  /**
   * Control side: the endpoints that may be picked changed. Recomputes every
   * destination's groups (priority, locality, panic) and updates balancers.
   * `undefined` means every endpoint is usable.
   */
  setUsable(usable: readonly EndpointState[] | undefined): void {
    this.usable = usable ?? this.endpoints;
    const set = usable === undefined ? undefined : new Set(usable);
    for (const [key, picker] of this.pickers) {
      const was = picker.panic;
      const now = picker.refresh(set);
      if (was !== now) {
        this.#env.onPanic(this.name, key === '*' ? this.name : `${this.name}[${key}]`, now, {
          up: picker.up,
          total: picker.endpoints.length,
          threshold: this.config.panicThreshold,
        });
      }
    }
  }

  /** Re-runs balancer updates without a change of membership (weights changed, e.g. slow start). */
  refreshWeights(): void {
    this.setUsable(this.usable === this.endpoints ? undefined : this.usable);
  }

  /** Request path: the first matching route's weighted choice, or the whole service. */
  destination(request: PickRequest): Destination | undefined {
    const traffic = this.traffic;
    if (traffic !== undefined && traffic.waiting) traffic.onTraffic();
    const routes = this.#routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (!r.route.matches(request)) continue;
      let chosen = r.split[0]!;
      if (r.split.length > 1) {
        const draw = this.#env.random() * r.total;
        for (const s of r.split) {
          chosen = s;
          if (draw < s.upTo) break;
        }
      }
      if (chosen.picker) return { picker: chosen.picker, route: r.route.name, name: chosen.name, faults: r.faults };
      const other = this.#env.lookup(chosen.service!);
      const woken = other?.traffic;
      if (woken !== undefined && woken.waiting) woken.onTraffic(); // the other service carries this traffic
      return other ? { picker: other.main, route: r.route.name, name: chosen.name, faults: r.faults } : undefined;
    }
    return this.#mainDestination;
  }

  /** The routes with their destinations' groups, for the snapshot. */
  describeRouting(): Record<string, unknown> {
    const destinations: Record<string, unknown> = {};
    for (const [key, picker] of this.pickers) {
      destinations[key === '*' ? '*' : key] = { panic: picker.panic, endpoints: picker.endpoints.length, groups: picker.describe() };
    }
    return {
      routes: this.#routes.map((r) => ({
        name: r.route.name,
        split: r.split.map((s) => ({ destination: s.name, share: Math.round(((s.upTo - (r.split[r.split.indexOf(s) - 1]?.upTo ?? 0)) / r.total) * 10_000) / 10_000 })),
      })),
      destinations,
    };
  }
}

/** A stable key for a label subset. */
export function subsetKey(subset: Readonly<Record<string, string>>): string {
  return Object.keys(subset)
    .sort()
    .map((k) => `${k}=${subset[k]}`)
    .join(',');
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
