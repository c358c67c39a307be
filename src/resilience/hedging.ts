const SIZE = 256;
const RECOMPUTE_EVERY = 32;

/**
 * The recent attempt latencies of a service (the last 256) and a cached
 * percentile of them, for hedging at the observed p95.
 */
export class LatencyTracker {
  readonly #samples = new Float64Array(SIZE);
  #count = 0;
  #next = 0;
  #sinceCompute = 0;
  #cached: number | undefined;
  readonly #percentile: number;
  readonly #minSamples: number;

  constructor(percentile: number, minSamples: number) {
    this.#percentile = percentile;
    this.#minSamples = minSamples;
  }

  /** Records one attempt's time to response headers. */
  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % SIZE;
    if (this.#count < SIZE) this.#count++;
    this.#sinceCompute++;
  }

  /** The percentile in milliseconds, or undefined until `minSamples` were recorded. */
  value(): number | undefined {
    if (this.#count < this.#minSamples) return undefined;
    if (this.#cached === undefined || this.#sinceCompute >= RECOMPUTE_EVERY) {
      const sorted = this.#samples.slice(0, this.#count).sort();
      this.#cached = sorted[Math.min(this.#count - 1, Math.floor((this.#percentile / 100) * this.#count))]!;
      this.#sinceCompute = 0;
    }
    return this.#cached;
  }
}
