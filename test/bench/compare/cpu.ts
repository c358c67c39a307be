/**
 * Client CPU per request in process (no sockets), for before/after work on
 * the hot path: the reference (raw `undici.request`) and the given variants
 * run interleaved over {@link instantTransport} for several rounds; prints
 * the median CPU µs per request of each and the median added over the
 * reference.
 *
 *   npx tsx test/bench/compare/cpu.ts [rounds] [ms per run] [variant,...] [concurrency]
 *
 * Many short interleaved runs: prints the median and the lower quartile.
 * With `--max-semi-space-size=128` (no scavenge during a sample) it also
 * prints the heap allocated per request, which a busy machine cannot move:
 *
 *   node --max-semi-space-size=128 --import tsx test/bench/compare/cpu.ts ...
 *
 * With `--expose-gc`, every window starts after a full collection.
 */
import { closedLoop } from './drivers.js';
import { inProcessContext } from './in-process.js';
import { median } from './stats.js';
import { REFERENCE_ID, buildRunners } from './variants.js';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? '7');
  const ms = Number(process.argv[3] ?? '1500');
  const ids = [REFERENCE_ID, ...(process.argv[4] ?? 'mesh-request-balancing,mesh-request-full').split(',')];
  const concurrency = Number(process.argv[5] ?? '32');
  const ctx = inProcessContext();
  const runners = await buildRunners(ids, ctx, (r) => closedLoop(r, concurrency, 500));
  const cpu = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (let r = 0; r < rounds; r++) {
    // A B C, then C B A: a drift in machine load over a round pair hits every variant alike.
    for (const id of r % 2 === 0 ? ids : [...ids].reverse()) {
      // Start each window with an empty young generation (run with --expose-gc), so no variant pays for another's garbage.
      (globalThis as { gc?: () => void }).gc?.();
      const res = await closedLoop(runners.get(id)!, concurrency, ms);
      if (res.errors) throw new Error(`${id}: ${res.errors} errors`);
      cpu.get(id)!.push(res.cpuUs / res.requests);
    }
  }
  // The lower quartile beside the median: on a shared machine, runs only ever get slower than the code's own cost.
  const q1 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 4)]!;
  const ref = median(cpu.get(REFERENCE_ID)!);
  const refQ = q1(cpu.get(REFERENCE_ID)!);
  const refs = cpu.get(REFERENCE_ID)!;
  for (const id of ids) {
    const xs = cpu.get(id)!;
    const m = median(xs);
    const q = q1(xs);
    // Paired: each round's variant minus the same round's reference, run next to it in time.
    const diffs = xs.map((x, i) => x - refs[i]!).sort((a, b) => a - b);
    const at = (f: number): number => diffs[Math.min(diffs.length - 1, Math.max(0, Math.round(f * (diffs.length - 1))))]!;
    console.log(
      `${id.padEnd(26)} median ${m.toFixed(2)} us CPU/req (added ${(m - ref).toFixed(2)})  q1 ${q.toFixed(2)} (added ${(q - refQ).toFixed(2)})` +
        `  paired added: median ${median(diffs).toFixed(2)} [q1 ${at(0.25).toFixed(2)}, q3 ${at(0.75).toFixed(2)}]`,
    );
  }
  // Bytes allocated per request: heap growth over 2,000 sequential requests (no GC in between when the
  // young generation is large enough; a sample that shrank the heap is dropped).
  for (const id of ids) {
    const runner = runners.get(id)!;
    const samples: number[] = [];
    runner.activate?.();
    for (let i = 0; i < 7; i++) {
      const before = process.memoryUsage().heapUsed;
      for (let n = 0; n < 2000; n++) await runner.send();
      const grown = process.memoryUsage().heapUsed - before;
      if (grown > 0) samples.push(grown / 2000);
    }
    runner.deactivate?.();
    console.log(`${id.padEnd(26)} allocated ${samples.length ? Math.round(median(samples)) : '?'} B/request (${samples.length} samples)`);
  }
  for (const r of runners.values()) await r.close();
}

void main();
