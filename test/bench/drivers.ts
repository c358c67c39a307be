/**
 * Load drivers: a closed loop (callers back to back: throughput and client CPU per request) and an open loop at
 * a fixed rate (latency counted from each request's scheduled send time, so a stalled client cannot hide its own
 * queueing: coordinated-omission-safe, as in wrk2).
 */
import { performance } from 'node:perf_hooks';

/** Sends one request, reads the whole body, resolves with the status code. */
export interface Runner {
  send(): Promise<number>;
  /** Process-wide instrumentation (instrumentation-undici) is switched on only for the runner's own windows. */
  activate?(): void;
  deactivate?(): void;
  /** Called after each window (drops what an in-memory exporter kept). */
  reset?(): void;
  close(): Promise<void>;
}

/** One closed-loop window. */
export interface ClosedResult {
  requests: number;
  errors: number;
  elapsedMs: number;
  /** Client process CPU time (user + system) during the window, microseconds. */
  cpuUs: number;
  firstError?: string;
}

/** Runs `concurrency` callers back to back for `durationMs`. */
export async function closedLoop(runner: Runner, concurrency: number, durationMs: number): Promise<ClosedResult> {
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  runner.activate?.();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + durationMs;
  const caller = async () => {
    while (performance.now() < end) {
      try {
        if ((await runner.send()) >= 500) throw new Error('5xx response');
        requests++;
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message.slice(0, 160) : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  runner.deactivate?.();
  runner.reset?.();
  return { requests, errors, elapsedMs, cpuUs: cpu.user + cpu.system, ...(firstError ? { firstError } : {}) };
}

/** One runner's part of an open-loop window. */
export interface OpenResult {
  /** Latency of each completed request from its scheduled send time, microseconds, ascending. */
  latenciesUs: Float64Array;
  errors: number;
}

/**
 * Sends `rate` requests per second in all for `durationMs`, on schedule whatever the responses do; request `i`
 * goes to `runners[i % n]`, so each stall of the machine lands on every runner alike. Waits for the stragglers
 * (at most 10 s). Runners with `activate` must run alone: their instrumentation would see the others.
 */
export async function openLoop(runners: readonly Runner[], rate: number, durationMs: number): Promise<OpenResult[]> {
  const n = runners.length;
  const total = Math.max(n, Math.round((rate * durationMs) / 1000));
  const intervalMs = 1000 / rate;
  const out = runners.map(() => ({ latencies: new Float64Array(Math.ceil(total / n)), completed: 0, errors: 0 }));
  let settled = 0;
  let sent = 0;
  let resolveDone = () => {};
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  for (const r of runners) r.activate?.();
  const start = performance.now();
  const fire = (scheduled: number, k: number) => {
    const o = out[k]!;
    runners[k]!.send().then(
      () => {
        o.latencies[o.completed++] = (performance.now() - scheduled) * 1000;
        if (++settled === total) resolveDone();
      },
      () => {
        o.errors++;
        if (++settled === total) resolveDone();
      },
    );
  };
  const tick = () => {
    const now = performance.now();
    while (sent < total && start + sent * intervalMs <= now) {
      fire(start + sent * intervalMs, sent % n);
      sent++;
    }
    if (sent >= total) return;
    // Timers fire up to a millisecond late: sleep on a timer only when the next send is far off, and poll with
    // setImmediate (I/O still runs between polls) for the last 2 ms.
    const wait = start + sent * intervalMs - performance.now();
    if (wait > 2) setTimeout(tick, wait - 2);
    else setImmediate(tick);
  };
  tick();
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, durationMs + 10_000))]);
  for (const r of runners) {
    r.deactivate?.();
    r.reset?.();
  }
  return out.map((o) => ({ latenciesUs: o.latencies.slice(0, o.completed).sort(), errors: o.errors }));
}
