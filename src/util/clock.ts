import { performance } from 'node:perf_hooks';

/** A handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The source of time for everything in the mesh that waits or measures:
 * backoff, deadlines, breakers, ejection, health intervals, latency. Tests
 * pass a fake one; timers made through the real clock are `unref`'d, so the
 * mesh never keeps a process alive by itself.
 */
export interface Clock {
  /** Monotonic milliseconds (may be fractional). */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for event timestamps. */
  wallNow(): number;
  /** Runs `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from {@link Clock.setTimeout}. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. It reads the global timer functions at call time, so the
 * fake timers of vitest, jest and `@sinonjs/fake-timers` control it too.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const t = globalThis.setTimeout(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
