// connection.interceptors, as docs/getting-started.md ("Interceptors") describes them: undici
// `compose` interceptors in front of each endpoint's pool, run once per try with that endpoint's
// origin. A header-signing interceptor signs every try (a retried request is signed twice, once
// per endpoint), and undici's dns interceptor resolves endpoint names through its own lookup,
// caching them; a name it cannot resolve fails the try as a connect failure, which the mesh
// requeues to another endpoint.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { interceptors, type Dispatcher } from 'undici';
import { MeshClient } from 'proxyless';

const SECRET = 'orders-signing-key';
const signatureOf = (method: string, origin: string, path: string): string =>
  createHmac('sha256', SECRET).update(`${method} ${origin}${path}`).digest('hex');

// Two "orders" endpoints that check the signature against their own origin. The very first
// request answers 503, so the mesh retries it on the other endpoint.
let requests = 0;
const servers: Server[] = [];
async function endpoint(): Promise<string> {
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.headers['x-signature'] !== signatureOf(req.method ?? '', origin, req.url ?? '')) {
      res.statusCode = 401;
      res.end('bad signature');
      return;
    }
    requests++;
    res.statusCode = requests === 1 ? 503 : 200;
    res.end(requests === 1 ? 'busy' : `order from ${origin}`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const [first, second] = [await endpoint(), await endpoint()];

// Signs method, origin and path of each try: `opts.origin` is the endpoint the mesh picked.
const signed: string[] = [];
const sign: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const origin = String(opts.origin);
  signed.push(origin);
  const signature = signatureOf(opts.method, origin, opts.path);
  const headers = Array.isArray(opts.headers) ? [...opts.headers, 'x-signature', signature] : { ...opts.headers, 'x-signature': signature };
  return dispatch({ ...opts, headers }, handler);
};

const mesh = new MeshClient({
  services: {
    orders: {
      endpoints: [first!, second!],
      connection: { interceptors: [sign] },
      retry: { attempts: 2, retryOn: ['5xx'] },
    },
  },
});
const res = await mesh.request('http://orders/orders/42');
assert.equal(res.statusCode, 200);
console.log(`GET /orders/42: ${res.statusCode} "${await res.body.text()}" after ${signed.length} signed tries`);
assert.deepEqual(new Set(signed), new Set([first, second])); // each try signed with its own endpoint's origin

// undici's dns interceptor with a lookup of its own (here a fixed table): endpoint names are
// resolved and cached; `payments-2.internal` is not in the table, so its tries fail with
// ENOTFOUND before anything is sent and are requeued to the endpoint that resolves. The pool
// still dials its endpoint's own host (localhost here); see the docs for what this buys.
const table: Record<string, string> = { localhost: '127.0.0.1' };
const lookups: string[] = [];
const dns = interceptors.dns({
  lookup: (origin, _options, callback) => {
    lookups.push(origin.hostname);
    const address = table[origin.hostname];
    if (address) callback(null, [{ address, family: 4, ttl: 30_000 }]);
    else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${origin.hostname}`), { code: 'ENOTFOUND' }), []);
  },
});
const payments = createServer((_req, res) => res.end('paid'));
servers.push(payments);
await new Promise<void>((resolve) => payments.listen(0, '127.0.0.1', resolve));
const port = (payments.address() as AddressInfo).port;
await mesh.updateConfig({
  services: {
    orders: { endpoints: [first!, second!], connection: { interceptors: [sign] } },
    payments: {
      endpoints: [`http://localhost:${port}`, 'http://payments-2.internal:8080'],
      connection: { interceptors: [dns] },
      retry: false,
    },
  },
});
for (let i = 0; i < 4; i++) {
  const paid = await mesh.request('http://payments/pay', { method: 'POST', body: '{}' });
  assert.equal(paid.statusCode, 200);
  assert.equal(await paid.body.text(), 'paid');
}
assert.deepEqual(lookups.filter((h) => h === 'localhost'), ['localhost']); // looked up once, then cached
console.log(`4 payments: 200 each; lookups: ${lookups.join(', ')}`);

await mesh.close();
for (const server of servers) server.close();
