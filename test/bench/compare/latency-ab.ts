/**
 * Added latency at a fixed rate, for before/after work: the reference (raw
 * `undici.request`) and the given variants take turns in short open-loop
 * windows (A B C, then C B A), client pinned to CPU 0 and the loopback target
 * to CPU 1 as in the suite; prints, per variant, the median over rounds of
 * (its p50 − the reference's p50 in the same round), and the same for p90.
 *
 *   npx tsx test/bench/compare/latency-ab.ts [rounds=20] [ms per window=1000] [variant,...] [rate=1000]
 */
import { openLoop } from './drivers.js';
import { pin, startTarget } from './proc.js';
import { median, percentile } from './stats.js';
import { REFERENCE_ID, findVariant, type Runner } from './variants.js';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? '20');
  const ms = Number(process.argv[3] ?? '1000');
  const ids = [REFERENCE_ID, ...(process.argv[4] ?? 'mesh-request-balancing,mesh-request-full').split(',')];
  const rate = Number(process.argv[5] ?? '1000');
  const { child: target, ports } = await startTarget(4, true);
  pin(process.pid, 0);
  const runners = new Map<string, Runner>();
  for (const id of ids) {
    const built = await findVariant(id).build({
      origins: ports.small.map((p) => `http://127.0.0.1:${p}`),
      path: '/',
      connections: 16,
      proxies: { haproxy: { unavailable: 'not here' }, nginx: { unavailable: 'not here' } },
    });
    if ('unavailable' in built) throw new Error(`${id}: ${built.unavailable}`);
    runners.set(id, built);
    await openLoop(built, rate, 1000);
  }
  const p50 = new Map<string, number[]>(ids.map((id) => [id, []]));
  const p90 = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (let r = 0; r < rounds; r++) {
    for (const id of r % 2 === 0 ? ids : [...ids].reverse()) {
      (globalThis as { gc?: () => void }).gc?.();
      const res = await openLoop(runners.get(id)!, rate, ms);
      const sorted = res.latenciesUs.slice().sort();
      p50.get(id)!.push(percentile(sorted, 50));
      p90.get(id)!.push(percentile(sorted, 90));
    }
  }
  for (const id of ids) {
    const d50 = p50.get(id)!.map((x, i) => x - p50.get(REFERENCE_ID)![i]!);
    const d90 = p90.get(id)!.map((x, i) => x - p90.get(REFERENCE_ID)![i]!);
    console.log(
      `${id.padEnd(26)} p50 ${median(p50.get(id)!).toFixed(0)} us (paired added ${median(d50).toFixed(1)})  p90 ${median(p90.get(id)!).toFixed(0)} us (paired added ${median(d90).toFixed(1)})`,
    );
  }
  for (const r of runners.values()) await r.close();
  target.stdin!.end();
  target.kill('SIGTERM');
}

void main();
