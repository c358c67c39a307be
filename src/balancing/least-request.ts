import { Type } from '@sinclair/typebox';
import { int, opt } from '../util/schema-blocks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import type { BalancerEndpoint, LoadBalancer, LoadBalancerDefinition, PickContext } from './balancer.js';
import { WeightedSampler } from './sampler.js';

/** Options of the `least-request` policy. */
export interface LeastRequestOptions {
  /**
   * How many random candidates to compare ("power of two choices" is 2).
   * When it is at least the number of endpoints, every endpoint is compared.
   * An integer from 2 to 100. Default 2.
   */
  choiceCount?: number;
}

/** The schema of {@link LeastRequestOptions}. */
export const LEAST_REQUEST_OPTIONS_SCHEMA = Type.Object(
  {
    /** Candidates compared per pick ("power of two choices" is 2), from 2 to 100. Default 2. */
    choiceCount: opt(int('Candidates compared per pick (power of two choices is 2).', 2, 100, 2)),
  },
  { description: 'Options of least-request.', additionalProperties: false },
);

/** Defaults of {@link LeastRequestOptions}, read off {@link LEAST_REQUEST_OPTIONS_SCHEMA}. */
export const LEAST_REQUEST_DEFAULTS = Object.freeze(defaultsOf(LEAST_REQUEST_OPTIONS_SCHEMA)) as Readonly<Required<LeastRequestOptions>>;

/**
 * Power-of-choices selection shared by `least-request` and `peak-ewma`:
 * draws `choiceCount` distinct candidates by weight and keeps the one with
 * the lowest load, ties going to the first drawn (so an idle service is
 * balanced exactly by weight). Subclasses define the load.
 */
export abstract class ChoiceBalancer implements LoadBalancer {
  /** The endpoints from the last {@link ChoiceBalancer.update}. */
  protected endpoints: readonly BalancerEndpoint[] = [];
  /** Endpoint weights, parallel to {@link ChoiceBalancer.endpoints}. */
  protected weights = new Float64Array(0);
  readonly #sampler = new WeightedSampler();
  readonly #choiceCount: number;
  /** The mesh's random source. */
  protected readonly random: () => number;

  constructor(choiceCount: number, random: () => number) {
    this.#choiceCount = choiceCount;
    this.random = random;
  }

  update(endpoints: readonly BalancerEndpoint[]): void {
    this.endpoints = endpoints;
    this.#sampler.update(endpoints);
    const weights = new Float64Array(endpoints.length);
    for (let i = 0; i < endpoints.length; i++) weights[i] = endpoints[i]!.weight;
    this.weights = weights;
  }

  /** The load of endpoint `i` (lower is better); `now` is read once per pick. */
  protected abstract load(i: number, now: number): number;

  /** The time passed to {@link ChoiceBalancer.load}; 0 unless a subclass needs a clock. */
  protected now(): number {
    return 0;
  }

  pick(context: PickContext): BalancerEndpoint | undefined {
    const list = this.endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    const tried = context.tried;
    if (n === 1) return tried !== undefined && tried.has(list[0]!) ? undefined : list[0];
    const now = this.now();
    if (this.#choiceCount >= n) return this.#scan(tried, now);
    let best = -1;
    let bestLoad = Infinity;
    let chosen = 0;
    // A bounded number of draws: duplicates of the best and tried endpoints are redrawn.
    for (let draws = 0; chosen < this.#choiceCount && draws < this.#choiceCount + 8; draws++) {
      const i = this.#sampler.draw(this.random());
      if (i === best) continue;
      const endpoint = list[i]!;
      if (tried !== undefined && tried.has(endpoint)) continue;
      chosen++;
      const load = this.load(i, now);
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    return best >= 0 ? list[best] : this.#scan(tried, now);
  }

  /** Compares every untried endpoint, starting at a weighted random one (ties keep the first). */
  #scan(tried: ReadonlySet<BalancerEndpoint> | undefined, now: number): BalancerEndpoint | undefined {
    const list = this.endpoints;
    const n = list.length;
    const start = this.#sampler.draw(this.random());
    let best = -1;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (tried !== undefined && tried.has(list[i]!)) continue;
      const load = this.load(i, now);
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    return best >= 0 ? list[best] : undefined;
  }
}

/**
 * `least-request`: power of two choices over in-flight requests (Envoy's
 * least request, Finagle's P2C least loaded). Draws `choiceCount` distinct
 * endpoints at random, weighted by `weight`, and sends the request to the one
 * with the fewest in-flight attempts per unit of weight
 * (`inflight / weight`). P2C avoids both the herd behaviour of "pick the
 * global minimum" and the cost of scanning every endpoint.
 */
export class LeastRequestBalancer extends ChoiceBalancer {
  constructor(options: LeastRequestOptions, random: () => number) {
    super(options.choiceCount ?? LEAST_REQUEST_DEFAULTS.choiceCount, random);
  }

  protected load(i: number): number {
    return this.endpoints[i]!.inflight / this.weights[i]!;
  }
}

/** The `least-request` policy; options: {@link LeastRequestOptions}. */
export const leastRequest: LoadBalancerDefinition<LeastRequestOptions> = {
  options: LEAST_REQUEST_OPTIONS_SCHEMA,
  create: (options, env) => new LeastRequestBalancer(options, env.random),
};
