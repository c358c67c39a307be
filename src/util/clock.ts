import { performance } from 'node:perf_hooks';

/** A handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The source of time for everything in the mesh that waits or measures:
 * backoff, deadlines, breakers, ejection, health intervals, latency. Tests
 * pass a fake one. With the real clock, background timers are `unref`'d, so
 * an idle mesh never keeps a process alive; a request in flight does, as a
 * pending fetch would: from its admission to its end it holds the process
 * alive itself (one handle for all requests), so its deadline, backoff and
 * hedge timers need not.
 */
export interface Clock {
  /** Monotonic milliseconds (may be fractional). */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for event timestamps. */
  wallNow(): number;
  /**
   * Runs `fn` after `ms` milliseconds. `keepAlive` is true for a timer that
   * must keep the process alive by itself until it fires or is cleared: an
   * injected fault delay, which runs before the request is admitted (and so
   * before it holds the process). Background timers (health checks,
   * ejection, polling) and the timers of an admitted request (deadlines,
   * backoff, hedge delay) pass nothing.
   */
  setTimeout(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  /** Cancels a timer from {@link Clock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. It reads the global timer functions at call time, so the
 * fake timers of vitest, jest and `@sinonjs/fake-timers` control it too.
 * Background timers are `unref`'d; a request's own timers are not (see
 * {@link Clock.setTimeout}).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms, keepAlive) {
    const t = globalThis.setTimeout(fn, ms);
    if (!keepAlive) (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
