// Fault injection as configuration (Istio's HTTPFaultInjection, in the client):
// 20% of calls to `orders` are delayed by 300 ms, 10% are answered 503 without
// touching the network, and a route turns faults off for /health. A seeded
// `random` makes the drill reproducible.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient } from 'proxyless';
import { seededRandom } from 'proxyless/testing';

let received = 0;
const server: Server = createServer((_req, res) => {
  received++;
  res.end('ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// A seeded random (the test kit's), so every run injects the same faults.
const random = seededRandom(42);

const mesh = new MeshClient({
  random,
  services: {
    orders: {
      endpoints: [url],
      retry: false,
      faults: { delay: { percent: 20, ms: 300 }, abort: { percent: 10, status: 503 } },
      routes: [{ name: 'health', match: { path: { exact: '/health' } }, split: [{ weight: 1 }], faults: false }],
    },
  },
});

const statuses: Record<number, number> = {};
let slow = 0;
await Promise.all(
  Array.from({ length: 100 }, async (_, i) => {
    const started = performance.now();
    const res = await mesh.request(`http://orders/orders/${i}`);
    await res.body.text();
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    if (performance.now() - started >= 290) slow++;
  }),
);
console.log('100 calls to /orders/*: statuses', statuses, `delayed ~300 ms: ${slow}`);
console.log(`the server received ${received} of them (aborted calls never reach the network)`);

const health = await mesh.request('http://orders/health');
await health.body.text();
console.log(`/health (route with faults: false): ${health.statusCode}`);

// Turn the drill off live.
await mesh.updateConfig({ services: { orders: { endpoints: [url], faults: false } } });
const after = await mesh.request('http://orders/orders/1');
await after.body.text();
console.log(`after updateConfig with faults: false: ${after.statusCode}`);

await mesh.close();
server.close();
