import { X509Certificate, createHmac } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { Pool, interceptors, type Dispatcher } from 'undici';
import { MeshClient, MeshConfigError, isMeshError, type ConnectionOptions, type HealthEvent } from '../../../src/index.js';
import { createTestMesh } from '../../../src/testing/index.js';
import { publishedSchema, type JsonSchema } from '../../../src/config/schema.js';
import { serverTlsOptions } from '../../../src/server/index.js';
import { createCa, issueCert } from '../../helpers/pki.js';
import { startServer, type TestServer } from '../../helpers/servers.js';
import { startTlsServer, type TestTlsServer } from '../../helpers/tls-servers.js';
import { rejection } from '../../helpers/rejection.js';

type Interceptor = Dispatcher.DispatcherComposeInterceptor;
const SECRET = 'test-secret';

/** `headers` with one more header, whatever form undici was given (object or flat array). */
function withHeader(headers: Dispatcher.DispatchOptions['headers'], name: string, value: string): Dispatcher.DispatchOptions['headers'] {
  if (headers == null) return { [name]: value };
  if (Array.isArray(headers)) return [...(headers as string[]), name, value];
  return { ...(headers as Record<string, string>), [name]: value };
}

function signatureOf(method: string, origin: string, path: string): string {
  return createHmac('sha256', SECRET).update(`${method} ${origin}${path}`).digest('hex');
}

/** A header-signing interceptor: signs method, origin and path of each dispatch, and records the origins it signed. */
function signing(seen: string[] = []): { interceptor: Interceptor; seen: string[] } {
  const interceptor: Interceptor = (dispatch) => (opts, handler) => {
    const origin = String(opts.origin);
    seen.push(origin);
    return dispatch({ ...opts, headers: withHeader(opts.headers, 'x-signature', signatureOf(opts.method, origin, opts.path)) }, handler);
  };
  return { interceptor, seen };
}

/** An interceptor that logs `name` when a request passes through it. */
const tagging =
  (name: string, log: string[]): Interceptor =>
  (dispatch) =>
  (opts, handler) => {
    log.push(name);
    return dispatch(opts, handler);
  };

describe('connection.interceptors', () => {
  const servers: TestServer[] = [];
  let total = 0;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    // The first request after `total = 0` answers 503; every other answers 200.
    const handler = (_req: unknown, res: ServerResponse): void => {
      total++;
      res.statusCode = total === 1 ? 503 : 200;
      res.end(total === 1 ? 'busy' : 'ok');
    };
    a = await startServer('a', handler);
    b = await startServer('b', handler);
    servers.push(a, b);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('sign each try: a retried request is signed twice, with each endpoint\'s own origin', async () => {
    total = 0;
    const sign = signing();
    const mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [a.url, b.url],
          connection: { interceptors: [sign.interceptor] },
          retry: { attempts: 2, retryOn: ['5xx'], backoff: { baseMs: 1, maxMs: 1 } },
        },
      },
    });
    const res = await mesh.request('http://orders/orders/42');
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok');
    // Two tries, on the two endpoints (a retry prefers an endpoint not yet tried), each through the interceptor.
    expect(sign.seen).toHaveLength(2);
    expect(new Set(sign.seen)).toEqual(new Set([a.url, b.url]));
    for (const s of [a, b]) {
      expect(s.requests).toHaveLength(1);
      expect(s.requests[0]!.headers['x-signature']).toBe(signatureOf('GET', s.url, '/orders/42'));
      // The mesh's own headers stay: the Host header names the service.
      expect(s.requests[0]!.headers.host).toBe('orders');
    }
    expect(mesh.snapshot().services.orders!.connection).toEqual({
      maxConnections: 64,
      pipelining: 1,
      connectTimeoutMs: 10_000,
      keepAliveTimeoutMs: 4_000,
      interceptors: 1,
    });
    await mesh.close();
  });

  it('a requeued try (connect refused, nothing sent) goes through the interceptors too', async () => {
    const dead = await startServer('dead');
    await dead.close(); // its port now refuses connections
    const sign = signing();
    const mesh = new MeshClient({
      services: { orders: { endpoints: [dead.url, a.url], connection: { interceptors: [sign.interceptor] }, retry: false } },
    });
    for (let i = 0; i < 4; i++) expect((await mesh.request('http://orders/x')).statusCode).toBe(200);
    expect(sign.seen).toContain(dead.url);
    expect(sign.seen.filter((o) => o === a.url)).toHaveLength(4);
    await mesh.close();
  });

  it('a hedge goes through the interceptors too, with the other endpoint\'s origin', async () => {
    const slow = await startServer('slow', (_req, res) => void setTimeout(() => res.end('slow'), 300));
    const fast = await startServer('fast');
    servers.push(slow, fast);
    const sign = signing();
    const mesh = new MeshClient({
      services: {
        orders: { endpoints: [slow.url, fast.url], connection: { interceptors: [sign.interceptor] }, hedge: { delayMs: 30 }, retry: false },
      },
    });
    // Round-robin: one of two requests starts on the slow endpoint and is hedged to the fast one.
    const bodies = [];
    for (let i = 0; i < 2; i++) bodies.push(await (await mesh.request('http://orders/h')).body.text());
    expect(bodies).toEqual(['fast', 'fast']);
    // Every try, first or hedge, was signed with the origin of the endpoint it went to.
    expect(sign.seen.filter((o) => o === fast.url)).toHaveLength(2);
    expect(sign.seen.filter((o) => o === slow.url).length).toBeGreaterThanOrEqual(1);
    expect(sign.seen).toHaveLength(fast.requests.length + slow.requests.length);
    for (const s of [slow, fast]) for (const r of s.requests) expect(r.headers['x-signature']).toBe(signatureOf('GET', s.url, '/h'));
    await mesh.close();
  });

  it('runs in undici\'s compose order: the last interceptor sees the request first', async () => {
    const meshLog: string[] = [];
    const mesh = new MeshClient({
      services: { orders: { endpoints: [a.url], connection: { interceptors: [tagging('first', meshLog), tagging('second', meshLog)] } } },
    });
    await (await mesh.request('http://orders/')).body.text();
    await mesh.close();
    const undiciLog: string[] = [];
    const pool = new Pool(a.url);
    const composed = pool.compose(tagging('first', undiciLog), tagging('second', undiciLog));
    await (await composed.request({ path: '/', method: 'GET' })).body.text();
    await pool.close();
    expect(meshLog).toEqual(['second', 'first']);
    expect(meshLog).toEqual(undiciLog);
  });

  it('defaults.connection.interceptors apply to every service; a service\'s own list replaces them', async () => {
    const log: string[] = [];
    const mesh = new MeshClient({
      defaults: { connection: { interceptors: [tagging('shared', log)], maxConnections: 8 } },
      services: {
        orders: { endpoints: [a.url] },
        billing: { endpoints: [b.url], connection: { interceptors: [tagging('billing', log)] } },
      },
    });
    await (await mesh.request('http://orders/')).body.text();
    await (await mesh.request('http://billing/')).body.text();
    expect(log).toEqual(['shared', 'billing']);
    // The other connection settings still come from defaults.
    expect(mesh.snapshot().services.billing!.connection.maxConnections).toBe(8);
    await mesh.close();
  });

  it('undici\'s dns interceptor runs on each endpoint: lookups are cached; an unresolvable name fails the try as a connect failure and it is requeued', async () => {
    const lookups: string[] = [];
    const dns = interceptors.dns({
      lookup: (origin, _opts, cb) => {
        lookups.push(origin.hostname);
        if (origin.hostname === 'localhost') cb(null, [{ address: '127.0.0.1', family: 4, ttl: 60_000 }]);
        else cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${origin.hostname}`), { code: 'ENOTFOUND' }), []);
      },
    });
    const events: HealthEvent[] = [];
    const mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [`http://localhost:${a.port}`, 'http://gone.invalid:8080'],
          connection: { interceptors: [dns] },
          retry: false,
        },
      },
    });
    mesh.on('health', (e) => events.push(e));
    for (let i = 0; i < 4; i++) expect((await mesh.request('http://orders/')).statusCode).toBe(200);
    // One lookup per name (the cache answers the rest); the unresolvable endpoint never got a request.
    expect(lookups.filter((h) => h === 'localhost')).toEqual(['localhost']);
    expect(lookups).toContain('gone.invalid');
    // Single endpoint left: the unresolvable one fails with the mesh's error and the lookup error as cause.
    await mesh.updateConfig({
      services: { orders: { endpoints: ['http://gone.invalid:8080'], connection: { interceptors: [dns] }, retry: false } },
    });
    const error = await rejection(mesh.request('http://orders/'));
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(((error as Error).cause as { code?: string }).code).toBe('ENOTFOUND');
    await mesh.close();
  });

  it('an interceptor that throws, or fails through onResponseError, gives MESH_UPSTREAM_FAILURE with its error as cause and counts as the endpoint\'s failure', async () => {
    const boom = new Error('signing key unavailable');
    const throwing: Interceptor = () => () => {
      throw boom;
    };
    const failing: Interceptor = () => (_opts, handler) => {
      queueMicrotask(() => handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, boom));
      return true;
    };
    const breaking: Interceptor = () => {
      throw boom; // throws when composed, before any request
    };
    for (const interceptor of [throwing, failing, breaking]) {
      const mesh = new MeshClient({
        services: { orders: { endpoints: [a.url], connection: { interceptors: [interceptor] }, retry: false } },
      });
      const before = a.requests.length;
      const error = await rejection(mesh.request('http://orders/'));
      expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
      expect((error as Error).cause).toBe(boom);
      expect(a.requests.length).toBe(before); // nothing reached the server
      const endpoint = mesh.snapshot().services.orders!.endpoints[0]!;
      expect(endpoint).toMatchObject({ attempts: 1, failures: 1, inflight: 0 });
      await mesh.close();
    }
  });

  it('updateConfig with other interceptors: the endpoint keeps its pool and new requests take the new chain', async () => {
    const log: string[] = [];
    const config = (name: string) => ({ services: { orders: { endpoints: [a.url], connection: { interceptors: [tagging(name, log)] } } } });
    let connections = 0;
    const onConnection = (): void => void connections++;
    a.server.on('connection', onConnection);
    const mesh = new MeshClient(config('v1'));
    await (await mesh.request('http://orders/')).body.text();
    await (await mesh.request('http://orders/')).body.text();
    const requestsBefore = a.requests.length;
    const connectionsBefore = connections;
    await mesh.updateConfig(config('v2'));
    await (await mesh.request('http://orders/')).body.text();
    // The same functions again: nothing changes.
    const same = { services: { orders: { endpoints: [a.url], connection: { interceptors: [tagging('v3', log)] } } } };
    await mesh.updateConfig(same);
    await mesh.updateConfig(same);
    await (await mesh.request('http://orders/')).body.text();
    expect(log).toEqual(['v1', 'v1', 'v2', 'v3']);
    expect(a.requests.length).toBe(requestsBefore + 2);
    // The warm sockets serve on: new interceptors do not replace the pool.
    // Dropping them: requests go straight to the pool.
    await mesh.updateConfig({ services: { orders: { endpoints: [a.url] } } });
    await (await mesh.request('http://orders/')).body.text();
    expect(log).toEqual(['v1', 'v1', 'v2', 'v3']);
    expect(mesh.snapshot().services.orders!.connection).not.toHaveProperty('interceptors');
    expect(connections).toBe(connectionsBefore);
    a.server.off('connection', onConnection);
    await mesh.close();
  });

  it('health checks do not pass through the interceptors', async () => {
    const log: string[] = [];
    const checked = await startServer('checked');
    servers.push(checked);
    const mesh = new MeshClient({
      services: {
        orders: { endpoints: [checked.url], connection: { interceptors: [tagging('x', log)] }, healthCheck: { path: '/healthz', intervalMs: 20, noTrafficIntervalMs: 20 } },
      },
    });
    await mesh.ready();
    await (await mesh.request('http://orders/data')).body.text();
    await vi_waitFor(() => checked.requests.filter((r) => r.url === '/healthz').length >= 2);
    expect(log).toEqual(['x']); // the request only
    await mesh.close();
  });

  it('rejects interceptors that are not an array of functions, naming the path, and applies nothing', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [a.url] } } });
    const version = mesh.snapshot().version;
    const bad = [
      { connection: { interceptors: 'dns' }, path: 'services.orders.connection.interceptors' },
      { connection: { interceptors: [signing().interceptor, 'sign'] }, path: 'services.orders.connection.interceptors.1' },
      { connection: { interceptors: [{}] }, path: 'services.orders.connection.interceptors.0' },
    ];
    for (const { connection, path } of bad) {
      const error = await rejection(mesh.updateConfig({ services: { orders: { endpoints: [a.url], connection } } } as never));
      expect(error).toBeInstanceOf(MeshConfigError);
      expect((error as MeshConfigError).issues.map((i) => i.path)).toEqual([path]);
      expect(() => new MeshClient({ services: { orders: { endpoints: [a.url], connection } } } as never)).toThrow(MeshConfigError);
    }
    const error = await rejection(
      mesh.updateConfig({ defaults: { connection: { interceptors: [1] } }, services: { orders: { endpoints: [a.url] } } } as never),
    );
    expect((error as MeshConfigError).issues.map((i) => i.path)).toEqual(['defaults.connection.interceptors.0']);
    expect(mesh.snapshot().version).toBe(version);
    expect(mesh.snapshot().services.orders!.connection).not.toHaveProperty('interceptors');
    await mesh.close();
  });

  it('is code only: the published JSON Schema (config files) has no interceptors', () => {
    const schema = publishedSchema();
    const service = schema.properties!.services!.additionalProperties as JsonSchema;
    for (const block of [service, schema.properties!.defaults!]) {
      expect(Object.keys(block.properties!.connection!.properties!)).toEqual(['maxConnections', 'pipelining', 'connectTimeoutMs', 'keepAliveTimeoutMs']);
    }
  });

  it('types the option as undici 7\'s compose interceptors', () => {
    expectTypeOf<ConnectionOptions['interceptors']>().toEqualTypeOf<Dispatcher.DispatcherComposeInterceptor[] | undefined>();
  });
});

describe('connection.interceptors over TLS', () => {
  const TD = 'example.org';
  const ORDERS = `spiffe://${TD}/ns/prod/sa/orders`;
  const WEB = `spiffe://${TD}/ns/prod/sa/web`;
  const servers: TestTlsServer[] = [];
  let orders: TestTlsServer;
  let impostor: TestTlsServer;
  let tls: { ca: string; cert: string; key: string; identity: { trustDomain: string; allow: string[] } };
  let clientFingerprint: string;
  let ca: Awaited<ReturnType<typeof createCa>>;

  beforeAll(async () => {
    ca = await createCa();
    const web = await issueCert(ca, { uris: [WEB] });
    clientFingerprint = new X509Certificate(web.cert).fingerprint256;
    tls = { ca: ca.cert, cert: web.cert, key: web.key, identity: { trustDomain: TD, allow: [ORDERS] } };
    const serve = async (uri: string) =>
      startTlsServer(uri, serverTlsOptions({ ca: ca.cert, ...(await issueCert(ca, { uris: [uri], ips: ['127.0.0.1'] })) }));
    orders = await serve(ORDERS);
    impostor = await serve(`spiffe://${TD}/ns/prod/sa/impostor`);
    servers.push(orders, impostor);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('keeps the mesh\'s mTLS and SPIFFE identity check for requests through an interceptor', async () => {
    const sign = signing();
    const mesh = new MeshClient({ services: { orders: { endpoints: [orders.url], tls, connection: { interceptors: [sign.interceptor] } } } });
    const res = await mesh.request('https://orders/pay');
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const seen = orders.requests.at(-1)!;
    expect(seen.peer).toBe(clientFingerprint); // our client certificate was presented
    expect(seen.headers['x-signature']).toBe(signatureOf('GET', orders.url, '/pay'));
    expect(sign.seen).toEqual([orders.url]);
    await mesh.close();

    // A rotation of the client certificate: a new pool for new requests, and the same interceptors in front of it.
    const rotated = await issueCert(ca, { uris: [WEB] });
    const again = new MeshClient({ services: { orders: { endpoints: [orders.url], tls, connection: { interceptors: [sign.interceptor] } } } });
    await (await again.request('https://orders/a')).body.text();
    await again.updateTls('orders', { cert: rotated.cert, key: rotated.key });
    await (await again.request('https://orders/b')).body.text();
    expect(orders.requests.slice(-2).map((r) => [r.url, r.peer, r.headers['x-signature']])).toEqual([
      ['/a', clientFingerprint, signatureOf('GET', orders.url, '/a')],
      ['/b', new X509Certificate(rotated.cert).fingerprint256, signatureOf('GET', orders.url, '/b')],
    ]);
    await again.close();

    const wrong = new MeshClient({ services: { orders: { endpoints: [impostor.url], tls, connection: { interceptors: [sign.interceptor] }, retry: false } } });
    const error = await rejection(wrong.request('https://orders/pay'));
    expect(isMeshError(error, 'MESH_PEER_IDENTITY')).toBe(true);
    expect(impostor.requests).toHaveLength(0);
    await wrong.close();
  });
});

describe('connection.interceptors with the test kit', () => {
  it('createTestMesh sees the same interceptors as production: t.calls() shows each try signed', async () => {
    const sign = signing();
    const t = createTestMesh({
      services: {
        orders: {
          endpoints: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'],
          connection: { interceptors: [sign.interceptor] },
          retry: { attempts: 2, retryOn: ['5xx'], backoff: { baseMs: 1, maxMs: 1 } },
        },
      },
    });
    let n = 0; // the first call of the test answers 503, the others 200
    for (const e of t.endpoints('orders')) e.handle(() => (++n === 1 ? 503 : 200));
    const pending = t.mesh.request('http://orders/orders/7');
    await t.clock.runAll();
    const res = await pending;
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const calls = t.calls('orders');
    expect(calls.map((c) => c.outcome)).toEqual(['503', '200']);
    for (const call of calls) expect(call.headers['x-signature']).toBe(signatureOf('GET', call.endpoint, '/orders/7'));
    expect(new Set(calls.map((c) => c.endpoint)).size).toBe(2);
    await t.close();
  });
});

async function vi_waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
