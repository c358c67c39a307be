import type { Clock } from '../../src/index.js';

/** A hand-driven clock: timers fire only inside `advance`, in time order. */
export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, firing due timers (and awaiting microtasks between them). */
  advance(ms: number): Promise<void>;
  /** Timers waiting. */
  pending(): number;
}

/** Creates a {@link ManualClock} starting at 0 (wall time 1,700,000,000,000). */
export function manualClock(): ManualClock {
  let now = 0;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void; seq: number }>();
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
  };
  return {
    now: () => now,
    wallNow: () => 1_700_000_000_000 + now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn, seq: id });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    pending: () => timers.size,
    async advance(ms) {
      const end = now + ms;
      await flush();
      for (;;) {
        let next: [number, { at: number; fn: () => void; seq: number }] | undefined;
        for (const entry of timers) {
          if (entry[1].at > end) continue;
          if (!next || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[1].seq < next[1].seq)) next = entry;
        }
        if (!next) break;
        timers.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        await flush();
      }
      now = end;
    },
  };
}
