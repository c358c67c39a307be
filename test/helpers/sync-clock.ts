import type { Clock } from '../../src/index.js';

/** A hand-driven clock: time moves only through `advance`, which runs due timers in order. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  /** Timers waiting to run. */
  readonly pending: number;
}

export function manualClock(start = 1_000): ManualClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    wallNow: () => 1_700_000_000_000 + now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= until && (!next || entry[1].at < next[1].at)) next = entry;
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = until;
    },
    get pending() {
      return timers.size;
    },
  };
}

/** The real timers with a frozen `now()`: rates measured through it never see time pass. */
export function frozenClock(): Clock {
  return {
    now: () => 0,
    wallNow: () => Date.now(),
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  };
}

/** A port nothing listens on (taken from a server that was closed). */
export async function deadPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
