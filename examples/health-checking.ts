// Active health checking: an endpoint whose /healthz fails is taken out of
// rotation, then brought back when it recovers; mesh.health() says why.
import { createServer, type Server } from 'node:http';
import { MeshClient } from 'proxyless';

let bHealthy = true;
async function serve(name: string, healthy: () => boolean): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') res.statusCode = healthy() ? 200 : 503;
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}
const servers = await Promise.all([serve('a', () => true), serve('b', () => bHealthy), serve('c', () => true)]);

const mesh = new MeshClient({
  services: {
    orders: {
      endpoints: servers.map((s) => s.url),
      healthCheck: { path: '/healthz', intervalMs: 100, noTrafficIntervalMs: 100, unhealthyThreshold: 2, healthyThreshold: 2 },
    },
  },
});
mesh.on('health', (e) => {
  if (e.type !== 'endpoint-added') console.log(`  [health] ${e.type} ${e.endpoint ?? ''} (${e.reason ?? ''})`);
});
const waitFor = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
};
const spread = async (label: string): Promise<void> => {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 9; i++) {
    const body = await (await mesh.request('http://orders/')).body.text();
    counts[body] = (counts[body] ?? 0) + 1;
  }
  console.log(`${label}:`, counts);
};

await spread('all healthy');
console.log('b starts failing its health check:');
bHealthy = false;
await waitFor(() => mesh.health().services.orders!.usable === 2);
await spread('b out of rotation');
console.log('mesh.health():', JSON.stringify(mesh.health().services.orders));
console.log('b recovers:');
bHealthy = true;
await waitFor(() => mesh.health().services.orders!.usable === 3);
await spread('b back');

await mesh.close();
await Promise.all(servers.map((s) => new Promise((r) => s.server.close(r))));
