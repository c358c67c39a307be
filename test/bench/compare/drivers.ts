/**
 * Load drivers: a closed loop (N callers back to back, for throughput and
 * CPU per request) and an open loop at a fixed rate (for latency, measured
 * from each request's SCHEDULED send time so a stalled client cannot hide
 * its own queueing: coordinated-omission-safe).
 */
import { performance } from 'node:perf_hooks';
import type { Runner } from './variants.js';

/** One closed-loop window. */
export interface ClosedResult {
  requests: number;
  errors: number;
  /** Responses with a status >= 500 (expected only in the failure scenario). */
  serverErrors: number;
  elapsedMs: number;
  /** Client process CPU time (user + system) during the window, microseconds. */
  cpuUs: number;
  firstError?: string;
}

/** Runs `concurrency` callers back to back for `durationMs`. */
export async function closedLoop(runner: Runner, concurrency: number, durationMs: number): Promise<ClosedResult> {
  let requests = 0;
  let errors = 0;
  let serverErrors = 0;
  let firstError: string | undefined;
  runner.activate?.();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + durationMs;
  const caller = async () => {
    while (performance.now() < end) {
      try {
        const status = await runner.send();
        if (status >= 500) serverErrors++;
        requests++;
      } catch (error) {
        errors++;
        firstError ??= describeError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  runner.deactivate?.();
  return { requests, errors, serverErrors, elapsedMs, cpuUs: cpu.user + cpu.system, ...(firstError ? { firstError } : {}) };
}

/** One open-loop window. */
export interface OpenResult {
  /** Latency of each completed request from its scheduled send time, microseconds (unsorted). */
  latenciesUs: Float64Array;
  completed: number;
  errors: number;
  /** Requests sent more than 0.2 ms after their scheduled time (the client fell behind). */
  late: number;
  firstError?: string;
}

/**
 * Sends `rate` requests per second for `durationMs`, on schedule, whatever
 * the responses do; waits for the stragglers (at most 10 s).
 */
export async function openLoop(runner: Runner, rate: number, durationMs: number): Promise<OpenResult> {
  return (await openLoopInterleaved([runner], rate, durationMs))[0]!;
}

/**
 * {@link openLoop} over several runners at once: request `i` of the schedule goes to `runners[i % n]`, so
 * every runner gets `rate / n` requests per second and each of the machine's stalls (a descheduled vCPU, a
 * collection, the target's own pauses) lands on all of them alike. Returns one result per runner.
 * Runners with `activate` (process-wide instrumentation) must not share a window: it would see the others.
 */
export async function openLoopInterleaved(runners: readonly Runner[], rate: number, durationMs: number): Promise<OpenResult[]> {
  const n = runners.length;
  const total = Math.max(n, Math.round((rate * durationMs) / 1000));
  const intervalMs = 1000 / rate;
  const results = runners.map(() => ({ latencies: new Float64Array(Math.ceil(total / n)), completed: 0, errors: 0, late: 0, firstError: undefined as string | undefined }));
  let settled = 0;
  let sent = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  for (const r of runners) r.activate?.();
  const start = performance.now();

  const fire = (scheduled: number, k: number) => {
    const out = results[k]!;
    runners[k]!.send().then(
      () => {
        out.latencies[out.completed++] = (performance.now() - scheduled) * 1000;
        if (++settled === total) resolveDone();
      },
      (error: unknown) => {
        out.errors++;
        out.firstError ??= describeError(error);
        if (++settled === total) resolveDone();
      },
    );
  };
  const tick = () => {
    const now = performance.now();
    while (sent < total) {
      const scheduled = start + sent * intervalMs;
      if (scheduled > now) break;
      if (now - scheduled > 0.2) results[sent % n]!.late++;
      fire(scheduled, sent % n);
      sent++;
    }
    if (sent >= total) return;
    // Timers fire up to a millisecond late, which would swamp microsecond differences: sleep with a
    // timer only when the next send is far off, and poll with setImmediate (I/O still runs between
    // polls) for the last 2 ms, like wrk2's pacing.
    const wait = start + sent * intervalMs - performance.now();
    if (wait > 2) setTimeout(tick, wait - 2);
    else setImmediate(tick);
  };
  tick();
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, durationMs + 10_000))]);
  for (const r of runners) r.deactivate?.();
  return results.map((o) => ({
    latenciesUs: o.latencies.slice(0, o.completed),
    completed: o.completed,
    errors: o.errors,
    late: o.late,
    ...(o.firstError ? { firstError: o.firstError } : {}),
  }));
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}`.slice(0, 200);
  }
  return String(error).slice(0, 200);
}
