// docs/getting-started.md's snippets that use the mesh of its first block ("Three doors",
// "Events"), run as written against two loopback "orders" instances. The page marks each block
// `<!-- snippet: in: examples/getting-started.ts -->` and the docs snippet test checks it is here.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient, type HealthEvent, type MetricEvent } from 'proxyless';

function listen(name: string): Promise<Server> {
  const server = createServer((req, res) => res.end(`${name} ${req.method} ${req.url}`));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const servers = await Promise.all([listen('orders-a'), listen('orders-b')]);
const mesh = new MeshClient({
  services: { orders: { endpoints: servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`) } },
});
const seen: (HealthEvent | MetricEvent)[] = [];

// Events
mesh.on('health', (e) => console.log(e.type, e.endpoint)); // endpoint-added, endpoint-removed, ...
mesh.on('metric', (e) => console.log(e.type)); // request (one per logical request), attempt, ...
mesh.on('config', (e) => console.log(e.type)); // applied (version), rejected (issues)
mesh.on('metric', (e) => seen.push(e));

// Three doors
const res = await mesh.fetch('http://orders/orders/42');        // WHATWG Response (undici's)
const { statusCode, body } = await mesh.request('http://orders/orders/42'); // the fast path
import { fetch, request } from 'undici';
await fetch('http://orders/x', { dispatcher: mesh.dispatcher });   // any undici API
await request('http://orders/x', { dispatcher: mesh.dispatcher });

assert.equal(res.status, 200);
assert.match(await res.text(), /^orders-[ab] GET \/orders\/42$/);
assert.equal(statusCode, 200);
assert.match(await body.text(), /^orders-[ab] GET \/orders\/42$/);
// One request event per logical request, whichever door it came in by.
assert.equal(seen.filter((e) => e.type === 'request').length, 4);
console.log('three doors: 4 requests, one pipeline');

await mesh.close();
for (const s of servers) s.close();
