// Quick start: two local "orders" instances, one MeshClient, three ways in.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch, request } from 'undici';
import { MeshClient, isMeshError } from 'proxyless';

function listen(name: string): Promise<Server> {
  const server = createServer((req, res) => res.end(`${name} answered ${req.method} ${req.url}`));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

const servers = await Promise.all([listen('orders-a'), listen('orders-b')]);
const mesh = new MeshClient({
  services: { orders: { endpoints: servers.map(urlOf), loadBalancer: 'round-robin' } },
  egress: 'deny',
});
mesh.on('metric', (e) => {
  if (e.type === 'request') console.log(`  metric: ${e.service} -> ${e.endpoint} ${e.status} in ${e.durationMs.toFixed(1)} ms`);
});

// 1. mesh.fetch: a WHATWG Response.
const res = await mesh.fetch('http://orders/orders/42');
console.log('fetch:', res.status, await res.text());

// 2. mesh.request: the fast path, undici's ResponseData.
const r2 = await mesh.request('http://orders/orders/43');
console.log('request:', r2.statusCode, await r2.body.text());

// 3. Any undici API with the mesh as its dispatcher.
const r3 = await fetch('http://orders/orders/44', { dispatcher: mesh.dispatcher });
console.log('dispatcher (fetch):', await r3.text());
const r4 = await request('http://orders/orders/45', { dispatcher: mesh.dispatcher });
console.log('dispatcher (request):', await r4.body.text());

// Unknown hosts are refused with egress: 'deny'.
try {
  await mesh.fetch('http://unknown-service/');
} catch (error) {
  if (isMeshError(error)) console.log('refused:', error.code);
}

console.log('snapshot:', JSON.stringify(mesh.snapshot().services.orders?.endpoints.map((e) => [e.url, e.attempts])));
await mesh.close();
for (const s of servers) s.close();
