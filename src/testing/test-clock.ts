import { setImmediate as realSetImmediate } from 'node:timers';
import type { Clock, TimerHandle } from '../util/clock.js';

/** Options of {@link TestClock}. */
export interface TestClockOptions {
  /**
   * Where time comes from. `'manual'` (default): time moves only when the
   * test calls {@link TestClock.advance}. `'globals'`: the clock reads
   * `Date.now()` and `globalThis.setTimeout` at call time, so the fake timers
   * of vitest (`vi.useFakeTimers()`), jest (`jest.useFakeTimers()`) or
   * `@sinonjs/fake-timers` drive it, and the test advances time with them.
   */
  source?: 'manual' | 'globals';
  /** Wall-clock milliseconds at time 0 of a manual clock (event timestamps). Default 2026-01-01T00:00:00Z. */
  wallStartMs?: number;
}

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** Guard against a timer that re-arms itself at the same instant forever: most timers fired at one instant. */
const MAX_FIRES_AT_ONE_INSTANT = 10_000;

/** Rounds of the event loop given to pending work by {@link TestClock.settle}. */
const SETTLE_ROUNDS = 10;

/**
 * A {@link Clock} for tests, the one the kit gives the mesh so that backoff,
 * deadlines, breakers, ejection, health intervals, slow start and scripted
 * endpoint delays all run on test time.
 *
 * A manual clock (the default) never moves by itself: `await clock.advance(ms)`
 * fires every timer due within `ms`, in order, and lets the promise work they
 * start finish before the next one (without real waiting). A `'globals'`
 * clock follows whatever fake timers the test installed instead.
 *
 * @example
 * ```ts
 * const clock = new TestClock();
 * const p = mesh.fetch('http://orders/slow');   // endpoint scripted with delayMs: 500
 * await clock.advance(500);
 * const res = await p;
 * ```
 */
export class TestClock implements Clock {
  /** Where time comes from; see {@link TestClockOptions.source}. */
  readonly source: 'manual' | 'globals';
  readonly #wallStart: number;
  readonly #globalsStart: number;
  #now = 0;
  #nextId = 1;
  #timers: Timer[] = [];

  /** Builds a clock at time 0 (manual) or following the global timers. */
  constructor(options: TestClockOptions = {}) {
    this.source = options.source ?? 'manual';
    this.#wallStart = options.wallStartMs ?? Date.UTC(2026, 0, 1);
    this.#globalsStart = this.source === 'globals' ? Date.now() : 0;
  }

  /** Milliseconds since the clock was made (test time). */
  now(): number {
    return this.source === 'globals' ? Date.now() - this.#globalsStart : this.#now;
  }

  /** Wall-clock milliseconds: the start time plus {@link TestClock.now}. */
  wallNow(): number {
    return this.source === 'globals' ? Date.now() : this.#wallStart + this.#now;
  }

  /** Schedules `fn` at `now() + ms` of test time. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    if (this.source === 'globals') return globalThis.setTimeout(fn, ms);
    const timer: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, Number.isFinite(ms) ? ms : 0), fn };
    // Keep the list sorted by due time, then by creation (stable, like real timers).
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return timer;
  }

  /** Cancels a timer from {@link TestClock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void {
    if (this.source === 'globals') {
      globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>);
      return;
    }
    const i = this.#timers.indexOf(handle as Timer);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** How many timers are waiting (manual clock only; 0 for a `'globals'` clock). */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Test time of the next timer, or `undefined` when none is waiting (manual clock). */
  get nextTimerAt(): number | undefined {
    return this.#timers[0]?.at;
  }

  /**
   * Moves test time forward by `ms`, firing each timer due on the way at its
   * own time, and lets the work each one starts (promises, stream callbacks)
   * run before the next fires. Resolves once time is `now() + ms` and
   * pending work has settled. Only for a manual clock: with `'globals'`, use
   * your fake timers (`vi.advanceTimersByTimeAsync`, `jest.advanceTimersByTimeAsync`,
   * `clock.tickAsync`).
   */
  async advance(ms: number): Promise<void> {
    this.#assertManual('advance');
    if (!(ms >= 0)) throw new RangeError(`advance(ms) needs a number >= 0, got ${String(ms)}`);
    const until = this.#now + ms;
    await this.settle();
    let sameInstant = 0;
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.at > until) break;
      sameInstant = next.at === this.#now ? sameInstant + 1 : 0;
      if (sameInstant >= MAX_FIRES_AT_ONE_INSTANT) {
        throw new Error(
          `TestClock.advance(): ${MAX_FIRES_AT_ONE_INSTANT} timers fired at ${this.#now} ms; a timer keeps re-arming itself with no delay`,
        );
      }
      this.#timers.shift();
      this.#now = next.at;
      next.fn();
      await this.settle();
    }
    this.#now = until;
    await this.settle();
  }

  /**
   * Fires timers in order, jumping time to each, until none is left (or
   * `limit` timers fired, to stop a timer that re-arms itself forever).
   * Resolves with how many fired.
   */
  async runAll(limit = 10_000): Promise<number> {
    this.#assertManual('runAll');
    let fired = 0;
    await this.settle();
    while (this.#timers.length > 0 && fired < limit) {
      await this.advance(this.#timers[0]!.at - this.#now);
      fired++;
    }
    return fired;
  }

  /**
   * Drives test time until `work` settles: fires the next timer (jumping
   * time to it), lets work run, and repeats; resolves or rejects as `work`
   * does. Rejects if `work` is still pending when no timer is left (it
   * would never settle) or after `limitMs` of test time. Manual clock only.
   *
   * @example
   * ```ts
   * t.endpoint('orders', 0).reply(200, 'ok', { delayMs: 250 });
   * const order = await t.clock.run(getOrder(t.mesh, 1));   // test time moves by 250 ms
   * ```
   */
  async run<T>(work: Promise<T> | (() => Promise<T>), limitMs = 3_600_000): Promise<T> {
    this.#assertManual('run');
    const promise = typeof work === 'function' ? work() : work;
    let settled = false;
    const watched = promise.then(
      (v) => {
        settled = true;
        return v;
      },
      (e: unknown) => {
        settled = true;
        throw e;
      },
    );
    watched.catch(() => {});
    const until = this.#now + limitMs;
    await this.settle();
    while (!settled) {
      const next = this.#timers[0];
      if (!next) throw new Error(`TestClock.run(): the work is still pending at ${this.#now} ms and no timer is left, so it would never settle`);
      if (next.at > until) throw new Error(`TestClock.run(): the work is still pending after ${limitMs} ms of test time`);
      await this.advance(next.at - this.#now);
    }
    return watched;
  }

  /**
   * Lets pending promise and stream work run (a few turns of the real event
   * loop) without moving test time. Works under fake timers too: it uses the
   * real `setImmediate` from `node:timers`, which fake timers do not replace.
   */
  async settle(): Promise<void> {
    for (let i = 0; i < SETTLE_ROUNDS; i++) await new Promise<void>((resolve) => realSetImmediate(resolve));
  }

  /** Drops every waiting timer (used by the kit's `close()`). */
  reset(): void {
    this.#timers = [];
  }

  #assertManual(what: string): void {
    if (this.source === 'globals') {
      throw new Error(
        `TestClock.${what}() drives a manual clock; this one follows the global fake timers: advance those ` +
          `(vi.advanceTimersByTimeAsync, jest.advanceTimersByTimeAsync or @sinonjs/fake-timers' tickAsync)`,
      );
    }
  }
}
