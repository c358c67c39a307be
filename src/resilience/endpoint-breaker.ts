import { CircuitState, ConsecutiveBreaker, type IBreaker } from 'cockatiel';
import type { ResolvedBreaker } from './options.js';
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
 * closed → open when the counter says so; open → half-open after the open
 * time (a clock timer); in half-open one probe is let through
 * ({@link CircuitBreaker.tryAcquire}); its success closes the breaker, its
 * failure opens it again. `onChange` hears every transition.
 *
 * The open time grows with consecutive openings, like Envoy's ejection time:
 * `halfOpenAfterMs × 2^(n-1)` for the n-th opening in a row, capped at
 * `max(halfOpenAfterMs, maxHalfOpenAfterMs)`. The streak ends (n starts again
 * at 1) once the breaker has stayed closed for at least the open time that
 * preceded its closing, so an endpoint back for good is probed quickly the
 * next time it fails, while one that keeps failing is probed less and less.
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
  /** Openings in the current streak (see the class comment). */
  #streak = 0;
  /** The open time of the last opening, in milliseconds. */
  #lastOpenMs = 0;
  /** When the breaker last closed (clock time), or undefined while it never has. */
  #closedAt: number | undefined;

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

  /** The open time the next opening would get now, in milliseconds (grows with the streak). */
  get nextOpenMs(): number {
    return this.#openMs(this.#streakAfterNextOpen());
  }

  /** Stops the half-open timer. */
  dispose(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #open(): void {
    this.#streak = this.#streakAfterNextOpen(); // reads the state it leaves
    this.#state = 'open';
    this.#probing = false;
    this.opened++;
    this.dispose();
    const openMs = (this.#lastOpenMs = this.#openMs(this.#streak));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#state = 'half-open';
      this.#onChange('half-open');
    }, openMs);
    this.#onChange('open');
  }

  #streakAfterNextOpen(): number {
    const stayedClosed = this.#state === 'closed' && this.#closedAt !== undefined && this.#clock.now() - this.#closedAt >= this.#lastOpenMs;
    return stayedClosed ? 1 : this.#streak + 1;
  }

  #openMs(streak: number): number {
    const { halfOpenAfterMs: base, maxHalfOpenAfterMs: max } = this.settings;
    return Math.min(base * 2 ** Math.min(streak - 1, 30), Math.max(base, max));
  }

  #close(): void {
    this.#closedAt = this.#clock.now();
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
