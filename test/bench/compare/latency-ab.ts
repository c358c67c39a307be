/**
 * Added latency at a fixed rate, for before/after work: the reference (raw
 * `undici.request`) and the given variants take turns in short open-loop
 * windows (A B C, then C B A), client pinned to CPU 0 and the loopback target
 * to CPU 1 as in the suite; prints, per variant, the median over rounds of
 * (its p50 − the reference's p50 in the same round), and the same for p90.
 *
 *   npx tsx test/bench/compare/latency-ab.ts [rounds=20] [ms per window=1000] [variant,...] [rate=1000] [in-process] [interleave]
 *
 * With `interleave`, each round is ONE window in which the variants take turns request by request (round
 * robin at `rate` in all), as the suite's latency scenario does: a stall of the machine then lands on
 * every variant alike instead of on whichever variant's window it fell in.
 *
 * Also prints p99: per round (median of the paired differences) and pooled
 * over all rounds. With `in-process` the requests go to the in-process
 * stand-in of the `pipeline` scenario (no sockets, no target process): what
 * is left of the difference is the client-side code and its garbage.
 */
import { openLoop, openLoopInterleaved, type OpenResult } from './drivers.js';
import { pin, startTarget } from './proc.js';
import { inProcessContext } from './in-process.js';
import { concat, median, percentile } from './stats.js';
import { REFERENCE_ID, buildRunners, loopbackContext } from './variants.js';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? '20');
  const ms = Number(process.argv[3] ?? '1000');
  const ids = [REFERENCE_ID, ...(process.argv[4] ?? 'mesh-request-balancing,mesh-request-full').split(',')];
  const rate = Number(process.argv[5] ?? '1000');
  const inProcess = process.argv.slice(6).includes('in-process');
  const interleave = process.argv.slice(6).includes('interleave');
  const target = inProcess ? undefined : await startTarget(4, true);
  pin(process.pid, 0);
  const ctx = target ? loopbackContext(target.ports.small, 16) : inProcessContext();
  const runners = await buildRunners(ids, ctx, (r) => openLoop(r, rate, 1000));
  const p50 = new Map<string, number[]>(ids.map((id) => [id, []]));
  const p90 = new Map<string, number[]>(ids.map((id) => [id, []]));
  const p99 = new Map<string, number[]>(ids.map((id) => [id, []]));
  const pooled = new Map<string, Float64Array[]>(ids.map((id) => [id, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ids : [...ids].reverse();
    const byId = new Map<string, OpenResult>();
    if (interleave) {
      const all = await openLoopInterleaved(order.map((id) => runners.get(id)!), rate, ms);
      order.forEach((id, i) => byId.set(id, all[i]!));
    }
    for (const id of order) {
      let res = byId.get(id);
      if (!res) {
        (globalThis as { gc?: () => void }).gc?.();
        res = await openLoop(runners.get(id)!, rate, ms);
      }
      const sorted = res.latenciesUs.slice().sort();
      p50.get(id)!.push(percentile(sorted, 50));
      p90.get(id)!.push(percentile(sorted, 90));
      p99.get(id)!.push(percentile(sorted, 99));
      pooled.get(id)!.push(res.latenciesUs);
    }
  }
  const pooledP99 = (id: string): number => {
    return percentile(concat(pooled.get(id)!).sort(), 99);
  };
  const refPooled = pooledP99(REFERENCE_ID);
  for (const id of ids) {
    const paired = (m: Map<string, number[]>) => median(m.get(id)!.map((x, i) => x - m.get(REFERENCE_ID)![i]!)).toFixed(1);
    const all = pooledP99(id);
    console.log(
      `${id.padEnd(26)} p50 ${median(p50.get(id)!).toFixed(0)} us (paired added ${paired(p50)})` +
        `  p90 ${median(p90.get(id)!).toFixed(0)} us (paired added ${paired(p90)})` +
        `  p99 ${median(p99.get(id)!).toFixed(0)} us (paired added ${paired(p99)}; pooled ${all.toFixed(0)} us, added ${(all - refPooled).toFixed(0)})`,
    );
  }
  for (const r of runners.values()) await r.close();
  if (target) {
    target.child.stdin!.end();
    target.child.kill('SIGTERM');
  }
}

void main();
