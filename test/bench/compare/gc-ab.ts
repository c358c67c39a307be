/**
 * Garbage collection per request over sockets, for before/after work on the
 * hot path: the reference and the given variants take turns in closed-loop
 * windows (A B C, then C B A) against the pinned loopback target; prints per
 * variant the median over rounds of client CPU, GC pause time and scavenges
 * per 1,000 requests (from `perf_hooks` GC entries).
 *
 *   npx tsx test/bench/compare/gc-ab.ts [rounds=8] [ms per window=2000] [variant,...] [concurrency=32]
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { closedLoop } from './drivers.js';
import { pin, startTarget } from './proc.js';
import { median } from './stats.js';
import { REFERENCE_ID, buildRunners, loopbackContext } from './variants.js';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? '8');
  const ms = Number(process.argv[3] ?? '2000');
  const ids = [REFERENCE_ID, ...(process.argv[4] ?? 'mesh-request-balancing,mesh-request-full').split(',')];
  const concurrency = Number(process.argv[5] ?? '32');
  const target = await startTarget(4, true);
  pin(process.pid, 0);
  const ctx = loopbackContext(target.ports.small, 8);
  let gcMs = 0;
  let minor = 0;
  let major = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      else major++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const runners = await buildRunners(ids, ctx, (r) => closedLoop(r, concurrency, 1000));
  const rows = new Map<string, { cpu: number[]; gc: number[]; minor: number[]; major: number[]; rps: number[] }>(
    ids.map((id) => [id, { cpu: [], gc: [], minor: [], major: [], rps: [] }]),
  );
  for (let r = 0; r < rounds; r++) {
    for (const id of r % 2 === 0 ? ids : [...ids].reverse()) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the previous window's GC entries arrive
      gcMs = minor = major = 0;
      const res = await closedLoop(runners.get(id)!, concurrency, ms);
      await new Promise((resolve) => setImmediate(resolve));
      if (res.errors) throw new Error(`${id}: ${res.errors} errors`);
      const row = rows.get(id)!;
      row.cpu.push(res.cpuUs / res.requests);
      row.gc.push((gcMs * 1000) / res.requests);
      row.minor.push((minor * 1000) / res.requests);
      row.major.push((major * 1000) / res.requests);
      row.rps.push((res.requests / res.elapsedMs) * 1000);
    }
  }
  obs.disconnect();
  const ref = rows.get(REFERENCE_ID)!;
  for (const id of ids) {
    const row = rows.get(id)!;
    const ratio = median(row.rps.map((x, i) => x / ref.rps[i]!));
    console.log(
      `${id.padEnd(26)} ${median(row.rps).toFixed(0)} req/s (paired ratio ${ratio.toFixed(3)})  CPU ${median(row.cpu).toFixed(1)} us/req` +
        `  GC ${median(row.gc).toFixed(2)} us/req  scavenges ${median(row.minor).toFixed(2)}/1k  major ${median(row.major).toFixed(3)}/1k`,
    );
  }
  for (const r of runners.values()) await r.close();
  target.child.stdin!.end();
  target.child.kill('SIGTERM');
}

void main();
