import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';
import { EndpointListMemo, NO_OPTIONS_SCHEMA } from './options.js';

/** Deadlines past this are rebased to keep float precision (never reached in practice). */
const REBASE_AT = 2 ** 40;
/** The golden ratio's fractional part: successive multiples spread evenly over [0, 1). */
const GOLDEN = 0.6180339887498949;

/**
 * `weighted-round-robin`: endpoints in turn in proportion to their `weight`,
 * spread out rather than in bursts. It is an earliest-deadline-first
 * scheduler, as in Envoy: each endpoint has a virtual deadline that advances
 * by `1 / weight` each time it is picked, and the pick is the endpoint with
 * the earliest deadline (ties by list order), kept in a binary heap so a pick
 * costs O(log n) and allocates nothing. With equal weights it is plain round
 * robin. Endpoints start at spread-out phases (a golden-ratio sequence from
 * a random start), so endpoints of equal weight do not move as a pack and
 * many clients do not all begin with the same endpoint.
 */
export class WeightedRoundRobinBalancer implements LoadBalancer {
  #endpoints: readonly BalancerEndpoint[] = [];
  #deadline = new Float64Array(0);
  #step = new Float64Array(0);
  /** A binary min-heap of endpoint indexes ordered by (deadline, index). */
  #heap = new Int32Array(0);
  readonly #random: () => number;
  readonly #memo = new EndpointListMemo();

  constructor(random: () => number) {
    this.#random = random;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.#endpoints = endpoints;
    // The same endpoints and weights again (a config update elsewhere): keep the schedule going.
    if (this.#memo.unchanged(endpoints)) return;
    const n = endpoints.length;
    this.#deadline = new Float64Array(n);
    this.#step = new Float64Array(n);
    this.#heap = new Int32Array(n);
    // Each endpoint starts at its own phase within its first period: a
    // golden-ratio sequence from a random start. Equal deadlines would make
    // endpoints of equal weight move as a pack (a burst of light endpoints,
    // then a burst of the heavy one); spread phases interleave them, and the
    // random start keeps many clients from beginning on the same endpoint.
    let phase = this.#random();
    for (let i = 0; i < n; i++) {
      const step = 1 / endpoints[i]!.weight;
      phase += GOLDEN;
      if (phase >= 1) phase -= 1;
      this.#step[i] = step;
      this.#deadline[i] = step * phase;
      this.#heap[i] = i;
    }
    for (let i = (n >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
    const list = this.#endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    const tried = context.tried;
    for (let i = 0; i < n; i++) {
      const endpoint = list[this.#advance()]!;
      if (tried === undefined || !tried.has(endpoint)) return endpoint;
    }
    return undefined;
  }

  /** Takes the endpoint with the earliest deadline and moves its deadline on. */
  #advance(): number {
    const top = this.#heap[0]!;
    const next = this.#deadline[top]! + this.#step[top]!;
    this.#deadline[top] = next;
    if (next > REBASE_AT) this.#rebase();
    this.#siftDown(0);
    return top;
  }

  #rebase(): void {
    const d = this.#deadline;
    let min = Infinity;
    for (let i = 0; i < d.length; i++) if (d[i]! < min) min = d[i]!;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! - min;
  }

  #siftDown(at: number): void {
    const heap = this.#heap;
    const d = this.#deadline;
    const n = heap.length;
    const item = heap[at]!;
    const key = d[item]!;
    let i = at;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let c = heap[child]!;
      const right = child + 1;
      if (right < n) {
        const r = heap[right]!;
        if (d[r]! < d[c]! || (d[r] === d[c] && r < c)) {
          child = right;
          c = r;
        }
      }
      if (d[c]! < key || (d[c] === key && c < item)) {
        heap[i] = c;
        i = child;
      } else break;
    }
    heap[i] = item;
  }
}

/** The `weighted-round-robin` policy. It takes no options: weights come from the endpoints. */
export const weightedRoundRobin: LoadBalancerDefinition = {
  options: NO_OPTIONS_SCHEMA,
  create: (_options, env) => new WeightedRoundRobinBalancer(env.random),
};
