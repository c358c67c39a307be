// Load-aware balancing: four servers, one of them 40 ms slower. Sixteen
// concurrent callers send requests back to back; round robin keeps sending
// the slow server its quarter, least-request and peak-ewma route around it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient } from 'proxyless';

const counts = [0, 0, 0, 0];
function listen(i: number, delayMs: number): Promise<Server> {
  const server = createServer((_req, res) => {
    counts[i]!++;
    if (delayMs > 0) setTimeout(() => res.end(), delayMs);
    else res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const servers = await Promise.all([listen(0, 0), listen(1, 40), listen(2, 0), listen(3, 0)]);
const endpoints = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`);

async function run(policy: string, perCaller: number): Promise<number> {
  const mesh = new MeshClient({ services: { api: { endpoints, loadBalancer: policy } } });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < perCaller; i++) await (await mesh.request('http://api/work')).body.dump();
    }),
  );
  await mesh.close();
  return performance.now() - started;
}

// Warm up (JIT, sockets) so the comparison is not about who ran first.
await run('peak-ewma', 20);

for (const policy of ['round-robin', 'least-request', 'peak-ewma']) {
  counts.fill(0);
  const ms = await run(policy, 100);
  const total = counts.reduce((a, b) => a + b, 0);
  const shares = counts.map((c, i) => `${i === 1 ? 'slow' : 'fast'} ${((100 * c) / total).toFixed(1)}%`);
  console.log(`${policy.padEnd(14)} ${shares.join('  ')}  (${total} requests in ${Math.round(ms)} ms)`);
}

await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
