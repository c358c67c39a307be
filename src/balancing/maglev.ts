import { Type } from '@sinclair/typebox';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { debugChannel } from '../util/logger.js';
import { int, opt } from '../util/schema-blocks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';
import { hashString } from './hash.js';
import { HASH_ON_SCHEMA, RequestHasher, type HashOn } from './hash-key.js';
import { EndpointListMemo, isPrime } from './options.js';

const trace = debugChannel('balancer');
/** Options of the `maglev` policy. */
export interface MaglevOptions {
  /** What to hash: a header, a cookie, a query parameter or the path. Required. */
  hashOn: HashOn;
  /**
   * Lookup table size: a prime, well above the number of endpoints (Google's
   * paper suggests 100× or more). A prime from 3 to 5,000,011. Default 65,537
   * (as in Envoy).
   */
  tableSize?: number;
}

/** The largest allowed `tableSize` (Envoy's limit). */
const MAX_TABLE_SIZE = 5_000_011;

/** The schema of {@link MaglevOptions}. */
export const MAGLEV_OPTIONS_SCHEMA = Type.Object(
  {
    /** What to hash: a header, a cookie, a query parameter or the path. Required. */
    hashOn: HASH_ON_SCHEMA,
    /** Lookup table size: a prime from 3 to 5,000,011, well above the number of endpoints. Default 65,537. */
    tableSize: opt(int('Lookup table size: a prime, well above the number of endpoints.', 3, MAX_TABLE_SIZE, 65_537)),
  },
  { description: 'Options of maglev.', additionalProperties: false },
);

/** Defaults of {@link MaglevOptions}, read off {@link MAGLEV_OPTIONS_SCHEMA}. */
export const MAGLEV_DEFAULTS = Object.freeze(defaultsOf(MAGLEV_OPTIONS_SCHEMA)) as Readonly<Required<Omit<MaglevOptions, 'hashOn'>>>;

const SEED_OFFSET = 0x2545f491;
const SEED_SKIP = 0x5bd1e995;

/**
 * `maglev`: consistent hashing with Google's Maglev lookup table (Eisenbud et
 * al., NSDI 2016; Envoy's `MAGLEV`). Every endpoint has a pseudo-random
 * permutation of the table slots (an offset and a skip from two hashes of its
 * URL); the endpoints take turns claiming their next free preferred slot, an
 * endpoint taking turns in proportion to its weight (Envoy's weighted
 * variant). A pick is one table lookup, O(1); the table is rebuilt in
 * {@link LoadBalancer.update}. Maglev spreads keys more evenly than a ring of
 * the same memory, at the price of somewhat more keys moving when endpoints
 * change. A request without a key gets a random slot (a random endpoint by
 * weight); endpoints already tried are skipped by walking on through the
 * table.
 */
export class MaglevBalancer implements LoadBalancer {
  readonly #hasher: RequestHasher;
  readonly #size: number;
  readonly #random: () => number;
  #endpoints: readonly BalancerEndpoint[] = [];
  #table = new Int32Array(0);
  readonly #memo = new EndpointListMemo();

  constructor(options: MaglevOptions, random: () => number) {
    this.#hasher = new RequestHasher(options.hashOn);
    this.#size = options.tableSize ?? MAGLEV_DEFAULTS.tableSize;
    this.#random = random;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.#endpoints = endpoints;
    if (this.#memo.unchanged(endpoints)) return;
    const n = endpoints.length;
    const m = this.#size;
    if (n === 0) {
      this.#table = new Int32Array(0);
      return;
    }
    // Endpoints take turns in an order that depends only on their URLs, so
    // clients that learn the same endpoints in different orders build the
    // same table (and send a key to the same endpoint).
    const offset = new Float64Array(n);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      offset[i] = hashString(endpoints[i]!.url, SEED_OFFSET);
      order[i] = i;
    }
    order.sort((a, b) => offset[a]! - offset[b]! || (endpoints[a]!.url < endpoints[b]!.url ? -1 : 1));
    const next = new Float64Array(n);
    const skip = new Float64Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      next[i] = offset[i]! % m;
      skip[i] = (hashString(endpoints[i]!.url, SEED_SKIP) % (m - 1)) + 1;
      weight[i] = endpoints[i]!.weight;
      if (weight[i]! > maxWeight) maxWeight = weight[i]!;
    }
    const table = new Int32Array(m).fill(-1);
    let filled = 0;
    for (let round = 1; filled < m; round++) {
      for (let k = 0; k < n && filled < m; k++) {
        const i = order[k]!;
        // An endpoint of the largest weight claims a slot every round; one of
        // a third of it, every third round (Envoy's weighted Maglev).
        if (round * weight[i]! < target[i]!) continue;
        target[i] = target[i]! + maxWeight;
        let c = next[i]!;
        while (table[c] !== -1) {
          c += skip[i]!;
          if (c >= m) c -= m;
        }
        table[c] = i;
        c += skip[i]!;
        next[i] = c >= m ? c - m : c;
        filled++;
      }
    }
    this.#table = table;
    trace('maglev rebuilt: %d endpoints, %d slots', n, m);
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
    const table = this.#table;
    const m = table.length;
    if (m === 0) return undefined;
    const hash = this.#hasher.hash(context.request);
    const slot = hash < 0 ? Math.floor(this.#random() * m) : hash % m;
    const list = this.#endpoints;
    const tried = context.tried;
    const first = list[table[slot]!]!;
    if (tried === undefined || !tried.has(first)) return first;
    for (let step = 1; step < m; step++) {
      const endpoint = list[table[(slot + step) % m]!]!;
      if (!tried.has(endpoint)) return endpoint;
    }
    return undefined;
  }
}

/** The `maglev` policy; options: {@link MaglevOptions}. */
export const maglev: LoadBalancerDefinition<MaglevOptions> = {
  options: MAGLEV_OPTIONS_SCHEMA,
  create: (options, env) => new MaglevBalancer(options, env.random),
  /** A rule a schema cannot say: the table size is a prime. */
  validate: (options) => {
    const issues: ConfigIssue[] = [];
    const size = options.tableSize;
    if (typeof size === 'number' && Number.isInteger(size) && !isPrime(size)) {
      issues.push({ path: 'tableSize', message: `expected a prime number, found ${size} (e.g. 65537, 131071, 655373)` });
    }
    return issues;
  },
};
