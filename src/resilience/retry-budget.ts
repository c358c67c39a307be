import type { Clock } from '../util/clock.js';

const SLICES = 10;

/**
 * A retry budget, after Finagle's `RetryBudget`: retries may add at most
 * `percent`% of the requests seen in the last `ttlMs`, plus a floor of
 * `minRetriesPerSecond`. Requests and retries are counted in ten time slices
 * that expire as the window slides; the floor is a token bucket refilling at
 * `minRetriesPerSecond` and holding one second's worth (Finagle keeps
 * `ttl × minRetriesPerSecond` in reserve; holding one second keeps a burst of
 * failures from multiplying load by more than the percentage plus the floor).
 *
 * Time comes from the mesh {@link Clock}; nothing here sets a timer.
 */
export class RetryBudget {
  readonly #clock: Clock;
  readonly #ratio: number;
  readonly #floorPerMs: number;
  readonly #floorMax: number;
  readonly #sliceMs: number;
  readonly #requests = new Float64Array(SLICES);
  readonly #retries = new Float64Array(SLICES);
  #slice = 0;
  #sliceStart: number;
  #tokens: number;
  #tokensAt: number;
  /** Retries refused since the budget was made. */
  exhausted = 0;
  /** Retries granted since the budget was made. */
  withdrawn = 0;

  constructor(options: { percent: number; minRetriesPerSecond: number; ttlMs: number }, clock: Clock) {
    this.#clock = clock;
    this.#ratio = options.percent / 100;
    this.#floorPerMs = options.minRetriesPerSecond / 1000;
    this.#floorMax = options.minRetriesPerSecond;
    this.#sliceMs = options.ttlMs / SLICES;
    const now = clock.now();
    this.#sliceStart = now;
    this.#tokens = this.#floorMax;
    this.#tokensAt = now;
  }

  /** Counts one request (call once per logical request). */
  deposit(): void {
    this.#advance();
    this.#requests[this.#slice]!++;
  }

  /** Takes one retry from the budget; false when none is left. */
  tryWithdraw(): boolean {
    this.#advance();
    if (this.#ratio * sum(this.#requests) - sum(this.#retries) >= 1) {
      this.#retries[this.#slice]!++;
      this.withdrawn++;
      return true;
    }
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#floorMax, this.#tokens + (now - this.#tokensAt) * this.#floorPerMs);
    this.#tokensAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      this.withdrawn++;
      return true;
    }
    this.exhausted++;
    return false;
  }

  /**
   * Plain JSON for `snapshot()`: the window's requests and the retries they
   * paid for, the retries available now, and totals granted and refused.
   */
  toJSON(): { requests: number; retries: number; available: number; withdrawn: number; exhausted: number } {
    this.#advance();
    const now = this.#clock.now();
    const tokens = Math.min(this.#floorMax, this.#tokens + (now - this.#tokensAt) * this.#floorPerMs);
    const requests = sum(this.#requests);
    const retries = sum(this.#retries);
    return {
      requests,
      retries,
      available: Math.floor(Math.max(0, this.#ratio * requests - retries) + tokens),
      withdrawn: this.withdrawn,
      exhausted: this.exhausted,
    };
  }

  #advance(): void {
    const now = this.#clock.now();
    let steps = Math.floor((now - this.#sliceStart) / this.#sliceMs);
    if (steps <= 0) return;
    this.#sliceStart += steps * this.#sliceMs;
    if (steps > SLICES) steps = SLICES;
    for (let i = 0; i < steps; i++) {
      this.#slice = (this.#slice + 1) % SLICES;
      this.#requests[this.#slice] = 0;
      this.#retries[this.#slice] = 0;
    }
  }
}

function sum(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}
