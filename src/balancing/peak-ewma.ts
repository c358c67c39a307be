import { Type } from '@sinclair/typebox';
import { int, num, opt } from '../util/schema-blocks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import type { AttemptReport, BalancerEndpoint, LoadBalancerDefinition } from './balancer.js';
import { ChoiceBalancer } from './least-request.js';

/** Options of the `peak-ewma` policy. */
export interface PeakEwmaOptions {
  /** Candidates compared per pick, as in `least-request`. An integer from 2 to 100. Default 2. */
  choiceCount?: number;
  /**
   * The decay time of the latency average, in milliseconds: a sample's
   * influence falls to 1/e after this long. Default 10,000 (Finagle's and
   * Linkerd's default). At least 1.
   */
  decayMs?: number;
}

/** The schema of {@link PeakEwmaOptions}. */
export const PEAK_EWMA_OPTIONS_SCHEMA = Type.Object(
  {
    /** Candidates compared per pick, as in `least-request`, from 2 to 100. Default 2. */
    choiceCount: opt(int('Candidates compared per pick, as in least-request.', 2, 100, 2)),
    /** The decay time of the latency average, in milliseconds (at least 1). Default 10,000. */
    decayMs: opt(num("The latency average's decay time: a sample's influence falls to 1/e after this long, ms.", 1, undefined, 10_000)),
  },
  { description: 'Options of peak-ewma.', additionalProperties: false },
);

/** Defaults of {@link PeakEwmaOptions}, read off {@link PEAK_EWMA_OPTIONS_SCHEMA}. */
export const PEAK_EWMA_DEFAULTS = Object.freeze(defaultsOf(PEAK_EWMA_OPTIONS_SCHEMA)) as Readonly<Required<PeakEwmaOptions>>;

/**
 * The load of an endpoint that has requests in flight but no latency sample
 * yet (Finagle's `Penalty`): high, so a new endpoint gets one probe at a time
 * until it has answered.
 */
const PENALTY = 1e9;

/**
 * `peak-ewma`: power of two choices over a peak-sensitive exponentially
 * weighted moving average of latency, times outstanding requests (Finagle's
 * and Linkerd's default balancer). For each endpoint it keeps a cost: a new
 * latency sample above the cost replaces it at once (the "peak"), one below
 * pulls it down with weight `1 - exp(-Δt / decayMs)`, and the cost also decays
 * toward 0 while no sample comes, so an endpoint that was slow gets probed
 * again later. The load compared is `cost × (inflight + 1) / weight`.
 * Latency comes from {@link LoadBalancer.report} (`durationMs` until the
 * response headers), time from the mesh clock.
 */
export class PeakEwmaBalancer extends ChoiceBalancer {
  readonly #decayMs: number;
  readonly #clock: () => number;
  /** Cost and time of the last update per endpoint, parallel to the list. */
  #cost = new Float64Array(0);
  #stamp = new Float64Array(0);
  #index = new Map<BalancerEndpoint, number>();

  constructor(options: PeakEwmaOptions, random: () => number, now: () => number) {
    super(options.choiceCount ?? PEAK_EWMA_DEFAULTS.choiceCount, random);
    this.#decayMs = options.decayMs ?? PEAK_EWMA_DEFAULTS.decayMs;
    this.#clock = now;
  }

  override update(endpoints: readonly BalancerEndpoint[]): void {
    const oldIndex = this.#index;
    const oldCost = this.#cost;
    const oldStamp = this.#stamp;
    super.update(endpoints);
    const n = endpoints.length;
    const index = new Map<BalancerEndpoint, number>();
    const cost = new Float64Array(n);
    const stamp = new Float64Array(n);
    const now = this.#clock();
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      index.set(endpoint, i);
      const before = oldIndex.get(endpoint);
      // An endpoint that stays keeps what was learnt about it.
      cost[i] = before === undefined ? 0 : oldCost[before]!;
      stamp[i] = before === undefined ? now : oldStamp[before]!;
    }
    this.#index = index;
    this.#cost = cost;
    this.#stamp = stamp;
  }

  /** Records a latency sample for a finished attempt. */
  report(endpoint: BalancerEndpoint, report: AttemptReport): void {
    const i = this.#index.get(endpoint);
    if (i === undefined) return;
    this.#observe(i, Math.max(0, report.durationMs), this.#clock());
  }

  /** The current cost of `endpoint` in milliseconds (0 when unknown); for tests and diagnostics. */
  costOf(endpoint: BalancerEndpoint): number {
    const i = this.#index.get(endpoint);
    if (i === undefined) return 0;
    this.#observe(i, 0, this.#clock());
    return this.#cost[i]!;
  }

  protected override now(): number {
    return this.#clock();
  }

  protected load(i: number, now: number): number {
    this.#observe(i, 0, now);
    const cost = this.#cost[i]!;
    const inflight = this.endpoints[i]!.inflight;
    if (cost === 0 && inflight !== 0) return PENALTY + inflight;
    return (cost * (inflight + 1)) / this.weights[i]!;
  }

  #observe(i: number, rtt: number, now: number): void {
    const cost = this.#cost[i]!;
    const elapsed = Math.max(0, now - this.#stamp[i]!);
    this.#stamp[i] = now;
    if (rtt > cost) this.#cost[i] = rtt;
    else {
      const w = Math.exp(-elapsed / this.#decayMs);
      this.#cost[i] = cost * w + rtt * (1 - w);
    }
  }
}

/** The `peak-ewma` policy; options: {@link PeakEwmaOptions}. */
export const peakEwma: LoadBalancerDefinition<PeakEwmaOptions> = {
  options: PEAK_EWMA_OPTIONS_SCHEMA,
  create: (options, env) => new PeakEwmaBalancer(options, env.random, env.now),
};
