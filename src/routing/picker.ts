import type { AttemptReport, LoadBalancer, PickContext } from '../balancing/balancer.js';
import type { LiveEndpoint } from '../endpoint/live-endpoint.js';

/** Priority, locality and panic settings of a service. */
export interface PickerOptions {
  /** The caller's zone; endpoints in it are preferred within each priority level. */
  readonly localZone: string | undefined;
  /** Envoy's overprovisioning factor: a level at 1/factor healthy still takes all its load. Default 1.4. */
  readonly overprovisioningFactor: number;
  /** Below this percentage of (overprovisioned) healthy endpoints, use all endpoints. 0 disables. Default 50. */
  readonly panicThreshold: number;
}

interface Group<E> {
  readonly key: string;
  readonly endpoints: readonly E[];
  readonly balancer: LoadBalancer;
  /** Upper bound of this group's share in [0, total). */
  readonly upTo: number;
}

/**
 * Chooses endpoints for one destination (a whole service or a subset):
 * first a priority level and locality group, as Envoy does (traffic stays at
 * the highest healthy priority and in the local zone, spilling over as health
 * drops, scaled by the overprovisioning factor; below the panic threshold all
 * endpoints are used, preferring those not behind an open circuit breaker),
 * then the service's load balancer within the group.
 *
 * Groups are computed on the control side in {@link Picker.refresh}; `pick`
 * only draws a group (when there is more than one) and asks its balancer.
 * `E` is the endpoint type the caller keeps (the client's `EndpointState`);
 * the picker only reads what {@link LiveEndpoint} says.
 */
export class Picker<E extends LiveEndpoint = LiveEndpoint> {
  readonly endpoints: readonly E[];
  readonly #options: PickerOptions;
  readonly #random: () => number;
  readonly #makeBalancer: () => LoadBalancer;
  /** Balancers by group key, kept across refreshes (and config versions) so their state carries over. */
  readonly balancers: Map<string, LoadBalancer>;
  #groups: readonly Group<E>[] = [];
  #total = 0;
  #byEndpoint = new Map<E, LoadBalancer>();
  /** True while below the panic threshold. */
  panic = false;
  /** Endpoints the groups cover (all of them in panic). */
  eligible = 0;
  /** Usable (up) endpoints at the last refresh. */
  up = 0;

  constructor(
    endpoints: readonly E[],
    options: PickerOptions,
    random: () => number,
    makeBalancer: () => LoadBalancer,
    inherited?: Map<string, LoadBalancer>,
  ) {
    this.endpoints = endpoints;
    this.#options = options;
    this.#random = random;
    this.#makeBalancer = makeBalancer;
    this.balancers = inherited ?? new Map();
  }

  /** Recomputes the groups from which endpoints are usable now. Returns whether the picker is in panic. */
  refresh(usable: ReadonlySet<E> | undefined): boolean {
    const all = this.endpoints;
    const { overprovisioningFactor: factor, panicThreshold, localZone } = this.#options;
    const levels = new Map<number, { all: E[]; healthy: E[] }>();
    for (const e of all) {
      let level = levels.get(e.priority);
      if (!level) levels.set(e.priority, (level = { all: [], healthy: [] }));
      level.all.push(e);
      if (usable === undefined || usable.has(e)) level.healthy.push(e);
    }
    const ordered = [...levels.entries()].sort((a, b) => a[0] - b[0]);
    this.up = ordered.reduce((n, [, l]) => n + l.healthy.length, 0);
    const health = ordered.map(([, l]) => Math.min(100, (factor * 100 * l.healthy.length) / l.all.length));
    const sumHealth = health.reduce((a, b) => a + b, 0);
    const normalisedTotal = Math.min(100, sumHealth);
    const specs: { key: string; endpoints: E[]; share: number }[] = [];
    this.panic = all.length > 0 && panicThreshold > 0 && normalisedTotal < panicThreshold;
    if (this.panic) {
      // Panic spreads load over every endpoint, but one behind an open breaker (endpoint breakers count transport
      // failures: refused connects, resets, timeouts) is left out while some other endpoint is not, as a connect
      // to it would most likely fail again; its half-open probe lets it back in.
      const connectable = all.filter((e) => !e.isDown('circuit-open'));
      specs.push({ key: 'panic', endpoints: connectable.length > 0 ? connectable : [...all], share: 1 });
    } else {
      let remaining = 100;
      ordered.forEach(([priority, level], i) => {
        let load = Math.min(remaining, health[i]!);
        remaining -= load;
        if (sumHealth > 0 && sumHealth < 100) load = (health[i]! * 100) / sumHealth;
        if (load <= 0 || level.healthy.length === 0) return;
        const local = localZone === undefined ? [] : level.healthy.filter((e) => e.zone === localZone);
        const localAll = localZone === undefined ? 0 : level.all.filter((e) => e.zone === localZone).length;
        if (local.length === 0) {
          specs.push({ key: `p${priority}`, endpoints: level.healthy, share: load });
          return;
        }
        const remote = level.healthy.filter((e) => e.zone !== localZone);
        const localShare = remote.length === 0 ? 1 : Math.min(1, (factor * local.length) / localAll);
        specs.push({ key: `p${priority}:local`, endpoints: local, share: load * localShare });
        if (localShare < 1) specs.push({ key: `p${priority}:remote`, endpoints: remote, share: load * (1 - localShare) });
      });
    }
    const groups: Group<E>[] = [];
    const byEndpoint = new Map<E, LoadBalancer>();
    let total = 0;
    let eligible = 0;
    for (const spec of specs) {
      let balancer = this.balancers.get(spec.key);
      if (!balancer) this.balancers.set(spec.key, (balancer = this.#makeBalancer()));
      balancer.update(spec.endpoints);
      total += spec.share;
      eligible += spec.endpoints.length;
      groups.push({ key: spec.key, endpoints: spec.endpoints, balancer, upTo: total });
      for (const e of spec.endpoints) byEndpoint.set(e, balancer);
    }
    this.#groups = groups;
    this.#total = total;
    this.#byEndpoint = byEndpoint;
    this.eligible = eligible;
    return this.panic;
  }

  /**
   * Whether the groups cover an endpoint not in `tried`. The tried ones may
   * have left the groups since (ejected by the very failure being handled),
   * so counts alone would say no while an untried endpoint is left.
   */
  hasUntried(tried: ReadonlySet<E>): boolean {
    if (this.eligible > tried.size) return true;
    for (const e of this.#byEndpoint.keys()) if (!tried.has(e)) return true;
    return false;
  }

  /** Picks an endpoint, preferring ones the request has not tried; `undefined` when there is none. */
  pick(context: PickContext): E | undefined {
    const groups = this.#groups;
    if (groups.length === 1) {
      const only = groups[0]!.balancer;
      const picked = only.pick(context) as E | undefined;
      if (picked !== undefined || context.tried === undefined) return picked;
      return only.pick({ request: context.request, tried: undefined }) as E | undefined;
    }
    if (groups.length === 0) return undefined;
    const draw = this.#random() * this.#total;
    let first = 0;
    while (first < groups.length - 1 && groups[first]!.upTo <= draw) first++;
    for (let i = 0; i < groups.length; i++) {
      const picked = groups[(first + i) % groups.length]!.balancer.pick(context) as E | undefined;
      if (picked !== undefined) return picked;
    }
    if (context.tried === undefined) return undefined;
    return groups[first]!.balancer.pick({ request: context.request, tried: undefined }) as E | undefined;
  }

  /** Passes attempt feedback to the balancer of the endpoint's group. */
  report(endpoint: E, report: AttemptReport): void {
    this.#byEndpoint.get(endpoint)?.report?.(endpoint, report);
  }

  /** The groups and their shares, for the snapshot. */
  describe(): { group: string; share: number; endpoints: number }[] {
    let previous = 0;
    return this.#groups.map((g) => {
      const share = this.#total === 0 ? 0 : (g.upTo - previous) / this.#total;
      previous = g.upTo;
      return { group: g.key, share: Math.round(share * 10_000) / 10_000, endpoints: g.endpoints.length };
    });
  }
}
