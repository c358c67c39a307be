import { CircuitState, type IBreaker } from 'cockatiel';
import type { Clock } from '../util/clock.js';

const BUCKETS = 10;

/**
 * A failure-rate breaker for cockatiel's {@link IBreaker} interface that reads
 * time from the mesh {@link Clock} (cockatiel's own `SamplingBreaker` reads
 * `Date.now()`, which a hand-driven test clock cannot move). It opens when at
 * least `minimumRequests` calls were seen in the last `windowMs` and
 * `failureRatePercent`% or more of them failed.
 */
export class ClockSamplingBreaker implements IBreaker {
  readonly #clock: Clock;
  readonly #threshold: number;
  readonly #minimum: number;
  readonly #bucketMs: number;
  readonly #ok = new Float64Array(BUCKETS);
  readonly #bad = new Float64Array(BUCKETS);
  #bucket = 0;
  #bucketStart: number;

  constructor(options: { failureRatePercent: number; windowMs: number; minimumRequests: number }, clock: Clock) {
    this.#clock = clock;
    this.#threshold = options.failureRatePercent / 100;
    this.#minimum = options.minimumRequests;
    this.#bucketMs = options.windowMs / BUCKETS;
    this.#bucketStart = clock.now();
  }

  /** The window's counts (cockatiel serialises breakers through this). */
  get state(): unknown {
    let ok = 0;
    let bad = 0;
    for (let i = 0; i < BUCKETS; i++) {
      ok += this.#ok[i]!;
      bad += this.#bad[i]!;
    }
    return { successes: ok, failures: bad };
  }
  set state(_value: unknown) {
    // Restoring serialized state is not supported: the window restarts empty.
  }

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) this.#reset();
    this.#advance();
    this.#ok[this.#bucket]!++;
  }

  failure(state: CircuitState): boolean {
    this.#advance();
    this.#bad[this.#bucket]!++;
    if (state !== CircuitState.Closed) return true;
    const { successes, failures } = this.state as { successes: number; failures: number };
    const total = successes + failures;
    return total >= this.#minimum && failures >= this.#threshold * total;
  }

  #reset(): void {
    this.#ok.fill(0);
    this.#bad.fill(0);
  }

  #advance(): void {
    const now = this.#clock.now();
    let steps = Math.floor((now - this.#bucketStart) / this.#bucketMs);
    if (steps <= 0) return;
    this.#bucketStart += steps * this.#bucketMs;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.#bucket = (this.#bucket + 1) % BUCKETS;
      this.#ok[this.#bucket] = 0;
      this.#bad[this.#bucket] = 0;
    }
  }
}
