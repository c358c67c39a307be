// Per-request options, as docs/resilience.md and docs/retries.md show them: a request that
// overrides its service's timeout and retry, and a PUT whose body is a factory, so the mesh can
// send it again. Both pages mark their block `<!-- snippet: in: examples/request-options.ts -->`.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient } from 'proxyless';

// An "orders" endpoint that answers 503 to the first try of every request, then 200 with the body it got.
const bodies: string[] = [];
const seen = new Map<string, number>();
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    bodies.push(`${req.method} ${req.url} ${body}`);
    const key = `${req.method} ${req.url}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    res.statusCode = n === 1 ? 503 : 200;
    res.end(body);
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const mesh = new MeshClient({
  services: { orders: { endpoints: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], outlierDetection: false } },
});
const order = { id: 42, items: [7] };

// docs/retries.md: a body factory, called once per try.
await mesh.request('http://orders/orders', { method: 'PUT', body: () => JSON.stringify(order) });
assert.deepEqual(bodies, ['PUT /orders {"id":42,"items":[7]}', 'PUT /orders {"id":42,"items":[7]}']);
console.log('PUT with a body factory: 503, then retried with the same body: 200');

// docs/resilience.md: this request turns retries off and allows itself 30 s.
await mesh.request('http://orders/report', { mesh: { timeout: { totalMs: 30_000 }, retry: false } });
assert.equal(seen.get('GET /report'), 1);
console.log('GET /report with retry: false: sent once, its 503 returned');

await mesh.close();
server.close();
