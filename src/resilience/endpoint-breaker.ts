import { CircuitState, ConsecutiveBreaker, type IBreaker } from 'cockatiel';
import type { ResolvedBreaker } from '../config/resilience.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ClockSamplingBreaker } from './sampling-breaker.js';

/** The states of a {@link CircuitBreaker}. */
export type CircuitStateName = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker state machine for the handler-based request path (the
 * same machine serves one endpoint or a whole service). Counting is
 * delegated to a cockatiel {@link IBreaker}: `ConsecutiveBreaker` in
 * `consecutive` mode, {@link ClockSamplingBreaker} in `sampling` mode.
 *
 * closed → open when the counter says so; open → half-open after
 * `halfOpenAfterMs` (a clock timer); in half-open one probe is let through
 * ({@link CircuitBreaker.tryAcquire}); its success closes the breaker, its
 * failure opens it again. `onChange` hears every transition.
 */
export class CircuitBreaker {
  readonly settings: ResolvedBreaker;
  readonly #clock: Clock;
  readonly #onChange: (state: CircuitStateName) => void;
  #counter: IBreaker;
  #state: CircuitStateName = 'closed';
  #probing = false;
  #timer: TimerHandle | undefined;
  /** Times the breaker opened. */
  opened = 0;

  constructor(settings: ResolvedBreaker, clock: Clock, onChange: (state: CircuitStateName) => void) {
    this.settings = settings;
    this.#clock = clock;
    this.#onChange = onChange;
    this.#counter = this.#makeCounter();
  }

  /** The current state. */
  get state(): CircuitStateName {
    return this.#state;
  }

  /** True when calls may go through now without a probe slot (closed, or half-open with the probe free). */
  get available(): boolean {
    return this.#state === 'closed' || (this.#state === 'half-open' && !this.#probing);
  }

  /**
   * Asks to send a call: true when closed; in half-open, true once (the
   * probe) until its result arrives; false when open.
   */
  tryAcquire(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'half-open' && !this.#probing) {
      this.#probing = true;
      return true;
    }
    return false;
  }

  /** A call let through by {@link CircuitBreaker.tryAcquire} ended without an outcome; returns true if it freed the probe slot. */
  cancel(): boolean {
    if (this.#state !== 'half-open' || !this.#probing) return false;
    this.#probing = false;
    return true;
  }

  /** A call succeeded. */
  success(): void {
    if (this.#state === 'half-open') {
      this.#counter.success(CircuitState.HalfOpen);
      this.#close();
    } else if (this.#state === 'closed') this.#counter.success(CircuitState.Closed);
  }

  /** A call failed. */
  failure(): void {
    if (this.#state === 'half-open') this.#open();
    else if (this.#state === 'closed' && this.#counter.failure(CircuitState.Closed)) this.#open();
  }

  /** Stops the half-open timer. */
  dispose(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(): void {
    this.#state = 'open';
    this.#probing = false;
    this.opened++;
    this.dispose();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#state = 'half-open';
      this.#onChange('half-open');
    }, this.settings.halfOpenAfterMs);
    this.#onChange('open');
  }

  #close(): void {
    this.#state = 'closed';
    this.#probing = false;
    this.#counter = this.#makeCounter();
    this.#onChange('closed');
  }

  #makeCounter(): IBreaker {
    const s = this.settings;
    return s.mode === 'sampling'
      ? new ClockSamplingBreaker(
          { failureRatePercent: s.failureRatePercent, windowMs: s.samplingWindowMs, minimumRequests: s.minimumRequests },
          this.#clock,
        )
      : new ConsecutiveBreaker(s.consecutiveFailures);
  }
}
