import { Type } from '@sinclair/typebox';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { debugChannel } from '../util/logger.js';
import { int, opt } from '../util/schema-blocks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';
import { fmix32, hashString } from './hash.js';
import { HASH_ON_SCHEMA, RequestHasher, type HashOn } from './hash-key.js';
import { EndpointListMemo } from './options.js';

const trace = debugChannel('balancer');
/** Options of the `ring-hash` policy. */
export interface RingHashOptions {
  /** What to hash: a header, a cookie, a query parameter or the path. Required. */
  hashOn: HashOn;
  /**
   * The smallest ring, in points (Envoy's `minimum_ring_size`). The ring is
   * also at least {@link RingHashOptions.pointsPerEndpoint} times the number
   * of endpoints. Default 1,024.
   */
  minRingSize?: number;
  /** The largest ring, in points (Envoy's `maximum_ring_size`). Default 8,388,608. */
  maxRingSize?: number;
  /**
   * Points per endpoint of average weight, before the ring-size bounds.
   * More points spread keys more evenly (the spread of an endpoint's share
   * is about 1/√points) at the cost of memory and rebuild time. Default 256.
   */
  pointsPerEndpoint?: number;
}

/** The largest ring, in points (Envoy's limit). */
const MAX_RING_SIZE = 8_388_608;

/** The schema of {@link RingHashOptions}. */
export const RING_HASH_OPTIONS_SCHEMA = Type.Object(
  {
    /** What to hash: a header, a cookie, a query parameter or the path. Required. */
    hashOn: HASH_ON_SCHEMA,
    /** The smallest ring, in points (at most `maxRingSize`). Default 1,024. */
    minRingSize: opt(int('The smallest ring, in points (<= maxRingSize).', 1, MAX_RING_SIZE, 1_024)),
    /** The largest ring, in points. Default 8,388,608. */
    maxRingSize: opt(int('The largest ring, in points.', 1, MAX_RING_SIZE, MAX_RING_SIZE)),
    /** Points per endpoint of average weight, from 1 to 10,000, before the ring-size bounds. Default 256. */
    pointsPerEndpoint: opt(int('Points per endpoint of average weight, before the ring-size bounds.', 1, 10_000, 256)),
  },
  { description: 'Options of ring-hash.', additionalProperties: false },
);

/** Defaults of {@link RingHashOptions}, read off {@link RING_HASH_OPTIONS_SCHEMA}. */
export const RING_HASH_DEFAULTS = Object.freeze(defaultsOf(RING_HASH_OPTIONS_SCHEMA)) as Readonly<Required<Omit<RingHashOptions, 'hashOn'>>>;

const SEED_A = 0x9747b28c;
const SEED_B = 0x3c6ef372;
/** The most endpoints a ring takes (more are ignored). */
const MAX_ENDPOINTS = 2 ** 21;

/**
 * `ring-hash`: consistent hashing on a ring (Karger et al.; Envoy's ring hash,
 * Ketama). Each endpoint owns points on a 32-bit ring, in proportion to its
 * weight; a request's key hash goes to the first point at or after it. When
 * one of N endpoints leaves, only the keys it owned (about 1/N) move. A pick is
 * a binary search (O(log ring size)); the ring is rebuilt in
 * {@link LoadBalancer.update}. A request without a key gets a random point, so
 * a random endpoint by weight. Endpoints already tried by the request are
 * skipped by walking on to the next distinct endpoint of the ring.
 */
export class RingHashBalancer implements LoadBalancer {
  readonly #hasher: RequestHasher;
  readonly #min: number;
  readonly #max: number;
  readonly #perEndpoint: number;
  readonly #random: () => number;
  #endpoints: readonly BalancerEndpoint[] = [];
  #points = new Uint32Array(0);
  #owners = new Int32Array(0);
  /**
   * Index of the first point of each bucket of the ring (the top
   * `#bucketBits` bits of a position), plus a sentinel: a pick binary-searches
   * one bucket (about one point) instead of the whole ring.
   */
  #buckets = new Int32Array(1);
  #shift = 31;
  readonly #memo = new EndpointListMemo();

  constructor(options: RingHashOptions, random: () => number) {
    this.#hasher = new RequestHasher(options.hashOn);
    this.#min = options.minRingSize ?? RING_HASH_DEFAULTS.minRingSize;
    this.#max = options.maxRingSize ?? RING_HASH_DEFAULTS.maxRingSize;
    this.#perEndpoint = options.pointsPerEndpoint ?? RING_HASH_DEFAULTS.pointsPerEndpoint;
    this.#random = random;
  }

  /** The number of points on the ring now. */
  get ringSize(): number {
    return this.#points.length;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.#endpoints = endpoints;
    if (this.#memo.unchanged(endpoints)) return;
    const n = Math.min(endpoints.length, MAX_ENDPOINTS);
    let total = 0;
    let minWeight = Infinity;
    for (let i = 0; i < n; i++) {
      const w = endpoints[i]!.weight;
      total += w;
      if (w < minWeight) minWeight = w;
    }
    if (n === 0) {
      this.#points = new Uint32Array(0);
      this.#owners = new Int32Array(0);
      this.#buckets = new Int32Array(1);
      return;
    }
    // As Envoy: scale so the lightest endpoint gets its share of the minimum
    // ring, capped by the maximum; here also at least pointsPerEndpoint each.
    const minShare = minWeight / total;
    const wanted = Math.max(this.#min, this.#perEndpoint * n);
    // (The epsilon keeps float noise from adding a point to every endpoint.)
    const scale = Math.min(Math.ceil(minShare * wanted - 1e-6) / minShare, this.#max);
    const counts = new Int32Array(n);
    let size = 0;
    for (let i = 0; i < n; i++) {
      // Rounded per endpoint, so an endpoint's points do not depend on the others'.
      const count = Math.max(1, Math.round((scale * endpoints[i]!.weight) / total));
      counts[i] = count;
      size += count;
    }
    let points: U32 = new Uint32Array(size);
    let owners: I32 = new Int32Array(size);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const url = endpoints[i]!.url;
      const a = hashString(url, SEED_A);
      const b = hashString(url, SEED_B);
      for (let j = 0; j < counts[i]!; j++) {
        points[k] = fmix32(a ^ fmix32((Math.imul(j + 1, 0x9e3779b9) ^ b) >>> 0));
        owners[k++] = i;
      }
    }
    [points, owners] = radixSort(points, owners);
    // About one point per bucket, between 2 and 2^22 buckets.
    const bits = Math.max(1, Math.min(22, Math.floor(Math.log2(size))));
    const buckets = new Int32Array((1 << bits) + 1);
    const shift = 32 - bits;
    let p = 0;
    for (let b = 0; b < 1 << bits; b++) {
      while (p < size && points[p]! >>> shift < b) p++;
      buckets[b] = p;
    }
    buckets[1 << bits] = size;
    this.#points = points;
    this.#owners = owners;
    this.#buckets = buckets;
    this.#shift = shift;
    trace('ring-hash rebuilt: %d endpoints, %d points', n, size);
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
    const points = this.#points;
    const size = points.length;
    if (size === 0) return undefined;
    let hash = this.#hasher.hash(context.request);
    if (hash < 0) hash = Math.floor(this.#random() * 4294967296);
    // First point >= hash (wrapping to 0): it is in the hash's bucket or is
    // the first point of a later one, which is where the search ends then.
    const bucket = hash >>> this.#shift;
    let lo = this.#buckets[bucket]!;
    let hi = this.#buckets[bucket + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    if (lo === size) lo = 0;
    const list = this.#endpoints;
    const owners = this.#owners;
    const tried = context.tried;
    const first = list[owners[lo]!]!;
    if (tried === undefined || !tried.has(first)) return first;
    for (let step = 1; step < size; step++) {
      const endpoint = list[owners[(lo + step) % size]!]!;
      if (!tried.has(endpoint)) return endpoint;
    }
    return undefined;
  }
}

/**
 * Sorts ring points (with their owners alongside) in two 16-bit LSD radix
 * passes: O(n), several times faster than a comparison sort for the
 * millions of points of a large ring. Equal points keep index order.
 */
type U32 = Uint32Array<ArrayBuffer>;
type I32 = Int32Array<ArrayBuffer>;

function radixSort(points: U32, owners: I32): [U32, I32] {
  const n = points.length;
  let srcP = points;
  let srcO = owners;
  let dstP = new Uint32Array(n);
  let dstO = new Int32Array(n);
  const counts = new Int32Array(65536);
  for (let shift = 0; shift < 32; shift += 16) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(srcP[i]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let b = 0; b < 65536; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const p = srcP[i]!;
      const at = counts[(p >>> shift) & 0xffff]!++;
      dstP[at] = p;
      dstO[at] = srcO[i]!;
    }
    [srcP, dstP] = [dstP, srcP];
    [srcO, dstO] = [dstO, srcO];
  }
  return [srcP, srcO];
}

/** The `ring-hash` policy; options: {@link RingHashOptions}. */
export const ringHash: LoadBalancerDefinition<RingHashOptions> = {
  options: RING_HASH_OPTIONS_SCHEMA,
  create: (options, env) => new RingHashBalancer(options, env.random),
  /** A rule across options: the smallest ring is not larger than the largest. */
  validate: (options) => {
    const issues: ConfigIssue[] = [];
    const { minRingSize: min, maxRingSize: max } = options;
    if (typeof min === 'number' && typeof max === 'number' && min > max) {
      issues.push({ path: 'minRingSize', message: `minRingSize (${min}) must not exceed maxRingSize (${max})` });
    }
    return issues;
  },
};
