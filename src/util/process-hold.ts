import { setInterval as realSetInterval } from 'node:timers';

/**
 * Keeps the process alive while mesh requests are in flight, with one ref'd
 * handle for the whole process instead of one ref'd timer per deadline.
 *
 * Why: Node deletes a list of ref'd timers as soon as it empties and builds
 * it again for the next timer of the same duration. A request's per-try and
 * total deadlines are almost always cleared early, so at low concurrency
 * (one request in flight at a time, the common case in a service) every
 * request paid for creating and dropping two timer lists, several times the
 * cost of an unref'd timer (unref'd lists are kept). So a request's timers are unref'd, and the request holds
 * the process through this counter from admission to its end instead.
 *
 * The handle is an interval from `node:timers`, which the fake timers of
 * vitest, jest and `@sinonjs/fake-timers` do not replace (they patch the
 * globals): it never runs under a fake clock and never advances one.
 */
let holders = 0;
let handle: ReturnType<typeof realSetInterval> | undefined;

/** One more request in flight: the process stays alive until it is {@link releaseProcess}d. */
export function holdProcess(): void {
  if (holders++ > 0) return;
  if (handle === undefined) {
    // Never fires in practice (about 24.8 days); its callback does nothing.
    handle = realSetInterval(noop, 0x7fffffff);
  }
  handle.ref();
}

/** A request that {@link holdProcess}ed has ended. */
export function releaseProcess(): void {
  if (--holders > 0) return;
  holders = 0;
  handle?.unref();
}

/** How many requests hold the process now (for tests). */
export function processHolders(): number {
  return holders;
}

function noop(): void {}
