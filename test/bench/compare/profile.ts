/**
 * Runs ONE variant against the loopback target for a while, for profiling:
 *
 *   node --cpu-prof --cpu-prof-dir=.bench-out/prof --import tsx \
 *     test/bench/compare/profile.ts mesh-request-balancing 10000 [in-process]
 *   npx tsx test/bench/compare/hotspots.ts .bench-out/prof/<file>.cpuprofile
 *
 * Prints requests, client CPU per request and throughput.
 */
import { closedLoop } from './drivers.js';
import { instantTransport } from './in-process.js';
import { startTarget } from './proc.js';
import { findVariant } from './variants.js';

async function main(): Promise<void> {
  const id = process.argv[2] ?? 'mesh-request-balancing';
  const durationMs = Number(process.argv[3] ?? '10000');
  const variant = findVariant(id);
  const { child: target, ports } = await startTarget(4, false);
  const inProcess = process.argv[4] === 'in-process';
  const built = await variant.build({
    origins: ports.small.map((p) => `http://127.0.0.1:${p}`),
    path: '/',
    connections: 8,
    proxies: { haproxy: { unavailable: 'not in profile runs' }, nginx: { unavailable: 'not in profile runs' } },
    ...(inProcess ? { transport: instantTransport() } : {}),
  });
  if ('unavailable' in built) throw new Error(built.unavailable);
  await closedLoop(built, 32, 1000);
  const r = await closedLoop(built, 32, durationMs);
  await built.close();
  target.stdin!.end();
  target.kill('SIGTERM');
  console.log(
    `${id}: ${r.requests} requests, ${((r.requests / r.elapsedMs) * 1000).toFixed(0)} req/s, ${(r.cpuUs / r.requests).toFixed(1)} us CPU/request, ${r.errors} errors`,
  );
}

void main();
