import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, isMeshError, type HealthEvent, type TlsOptions } from '../../../src/index.js';
import { peerIdentity, serverTlsOptions, spiffeAuthorizer } from '../../../src/server/index.js';
import { createCa, issueCert, type TestCa, type TestCert } from '../../helpers/pki.js';
import { startServer, type TestServer } from '../../helpers/servers.js';
import { startTlsServer, type TestTlsServer } from '../../helpers/tls-servers.js';
import { rejection } from '../../helpers/rejection.js';

const TD = 'example.org';
const ORDERS = `spiffe://${TD}/ns/prod/sa/orders`;
const WEB = `spiffe://${TD}/ns/prod/sa/web`;

describe('mTLS with workload identity', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let webCert: TestCert;
  const servers: TestTlsServer[] = [];
  let orders: TestTlsServer;
  let wrongId: TestTlsServer;
  let twoUris: TestTlsServer;
  let noUri: TestTlsServer;
  let foreign: TestTlsServer;
  let dir: string;

  async function serve(name: string, cert: TestCert, handler?: Parameters<typeof startTlsServer>[2]): Promise<TestTlsServer> {
    const s = await startTlsServer(name, serverTlsOptions({ ca: ca.cert, cert: cert.cert, key: cert.key }), handler);
    servers.push(s);
    return s;
  }

  beforeAll(async () => {
    ca = await createCa();
    otherCa = await createCa('another CA');
    webCert = await issueCert(ca, { uris: [WEB] });
    const authorize = spiffeAuthorizer({ allow: [WEB] });
    orders = await serve('orders', await issueCert(ca, { uris: [ORDERS], ips: ['127.0.0.1'] }), (req, res) => {
      if (authorize(req, res)) res.end(`orders sees ${peerIdentity(req)}`);
    });
    wrongId = await serve('wrong', await issueCert(ca, { uris: [`spiffe://${TD}/ns/prod/sa/attacker`] }));
    twoUris = await serve('two', await issueCert(ca, { uris: [ORDERS, `spiffe://${TD}/ns/prod/sa/other`] }));
    noUri = await serve('none', await issueCert(ca, { dns: ['orders.example.org'] }));
    const foreignCert = await issueCert(otherCa, { uris: [ORDERS], ips: ['127.0.0.1'] });
    foreign = await startTlsServer('foreign', { cert: foreignCert.cert, key: foreignCert.key });
    servers.push(foreign);
    dir = await mkdtemp(join(tmpdir(), 'proxyless-mtls-'));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  const tls = (): TlsOptions => ({ ca: ca.cert, cert: webCert.cert, key: webCert.key, identity: { trustDomain: TD, allow: [ORDERS] } });

  it('connects with mTLS and both sides see the other\'s SPIFFE ID', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [orders.url], tls: tls() } } });
    const res = await mesh.request('https://orders/x');
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe(`orders sees ${WEB}`);
    // The server saw our client certificate.
    const last = orders.requests.at(-1);
    expect(last?.peer).toBe(new X509Certificate(webCert.cert).fingerprint256);
    expect(last?.headers.host).toBe('orders');
    // The fetch door and the dispatcher door take the same path.
    expect(await (await mesh.fetch('https://orders/y')).text()).toBe(`orders sees ${WEB}`);
    await mesh.close();
  });

  it.each([
    ['a wrong SPIFFE ID', () => wrongId, 'is not an allowed identity'],
    ['two URI SANs', () => twoUris, 'carries 2 URI SANs'],
    ['no URI SAN', () => noUri, 'no URI SAN'],
  ])('refuses a server with %s (MESH_PEER_IDENTITY and a health event)', async (_name, server, reason) => {
    const events: HealthEvent[] = [];
    const mesh = new MeshClient({
      services: { orders: { endpoints: [server().url], tls: tls() } },
      observers: [{ onHealth: (e) => events.push(e) }],
    });
    const before = server().requests.length;
    const error = await rejection(mesh.request('https://orders/x'));
    expect(isMeshError(error, 'MESH_PEER_IDENTITY')).toBe(true);
    expect((error as Error).message).toContain(reason);
    expect(events.filter((e) => e.type === 'peer-identity-rejected')).toEqual([
      expect.objectContaining({ type: 'peer-identity-rejected', service: 'orders', endpoint: server().url }),
    ]);
    // The fetch door fails the same way (the MeshError itself, not fetch's TypeError).
    expect(isMeshError(await rejection(mesh.fetch('https://orders/x')), 'MESH_PEER_IDENTITY')).toBe(true);
    // Nothing was sent to the impostor.
    expect(server().requests.length).toBe(before);
    await mesh.close();
  });

  it('runs HTTP health checks over the service\'s mTLS: the right peer is healthy, an impostor unhealthy', async () => {
    const health: string[] = [];
    const hc = { path: '/healthz', intervalMs: 50, noTrafficIntervalMs: 50, unhealthyThreshold: 1, healthyThreshold: 1 };
    const mesh = new MeshClient({
      services: { orders: { endpoints: [orders.url, wrongId.url], tls: tls(), healthCheck: hc } },
      observers: [{ onHealth: (e) => health.push(`${e.type} ${e.endpoint ?? ''}`) }],
    });
    const checked = () => orders.requests.filter((r) => r.url === '/healthz').length;
    for (let i = 0; i < 200 && (checked() < 2 || !health.includes(`endpoint-unhealthy ${wrongId.url}`)); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    // The check reached the real service with our client certificate...
    expect(checked()).toBeGreaterThanOrEqual(2);
    expect(orders.requests.filter((r) => r.url === '/healthz').at(-1)?.peer).toBe(new X509Certificate(webCert.cert).fingerprint256);
    // ...and the impostor failed its checks on the identity, without receiving one.
    expect(health).toContain(`endpoint-unhealthy ${wrongId.url}`);
    expect(health).not.toContain(`endpoint-unhealthy ${orders.url}`);
    expect(wrongId.requests.filter((r) => r.url === '/healthz')).toHaveLength(0);
    expect(mesh.health().services.orders).toMatchObject({ usable: 1, down: [{ endpoint: wrongId.url, reasons: ['unhealthy'] }] });
    await mesh.close();
  });

  it('applies a new identity policy from updateConfig to new connections', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [orders.url], tls: tls() } } });
    expect((await mesh.request('https://orders/x')).statusCode).toBe(200);
    await mesh.updateConfig({
      services: { orders: { endpoints: [orders.url], tls: { ...tls(), identity: { allow: [`spiffe://${TD}/ns/prod/sa/billing`] } } } },
    });
    const error = await rejection(mesh.request('https://orders/x'));
    expect(isMeshError(error, 'MESH_PEER_IDENTITY')).toBe(true);
    await mesh.updateConfig({ services: { orders: { endpoints: [orders.url], tls: tls() } } });
    expect((await mesh.request('https://orders/x')).statusCode).toBe(200);
    await mesh.close();
  });

  it('rejects an updateConfig whose TLS material is unreadable, and keeps serving with the old', async () => {
    const configEvents: string[] = [];
    const mesh = new MeshClient({ services: { orders: { endpoints: [orders.url], tls: tls() } } });
    mesh.on('config', (e) => configEvents.push(e.type));
    const error = await rejection(
      mesh.updateConfig({ services: { orders: { endpoints: [orders.url], tls: { ...tls(), cert: { file: join(dir, 'nope.pem') } } } } }),
    );
    expect((error as MeshConfigError).issues.map((i) => i.path)).toEqual(['services.orders.tls.cert']);
    expect(configEvents).toEqual(['rejected']);
    expect((await mesh.request('https://orders/x')).statusCode).toBe(200);
    expect(mesh.snapshot().version).toBe(1);
    await mesh.close();
  });

  it('honours minVersion: a TLS 1.2-only server is refused by a TLS 1.3 client', async () => {
    const cert = await issueCert(ca, { uris: [ORDERS], ips: ['127.0.0.1'] });
    const old = await startTlsServer('tls12', { cert: cert.cert, key: cert.key, maxVersion: 'TLSv1.2' });
    servers.push(old);
    const mesh = new MeshClient({
      services: {
        v12: { endpoints: [old.url], tls: { ca: ca.cert, identity: { allow: [ORDERS] } } },
        v13: { endpoints: [old.url], tls: { ca: ca.cert, identity: { allow: [ORDERS] }, minVersion: 'TLSv1.3' } },
      },
    });
    expect(await (await mesh.request('https://v12/x')).body.text()).toBe('tls12');
    const error = await rejection(mesh.request('https://v13/x'));
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(old.requests).toHaveLength(1);
    await mesh.close();
  });

  it('refuses a server whose chain does not lead to the configured CA', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [foreign.url], tls: tls() } } });
    const error = await rejection(mesh.request('https://orders/x'));
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(foreign.requests).toHaveLength(0);
    await mesh.close();
  });

  it('verifies the host name when no identity is configured', async () => {
    // noUri's certificate is for orders.example.org only; the endpoint is 127.0.0.1.
    const plain = { ca: ca.cert, cert: webCert.cert, key: webCert.key };
    const mesh = new MeshClient({ services: { orders: { endpoints: [noUri.url], tls: plain } } });
    const error = await rejection(mesh.request('https://orders/x'));
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(((error as Error).cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    // With the name the certificate carries, it is accepted.
    await mesh.updateConfig({ services: { orders: { endpoints: [noUri.url], tls: { ...plain, servername: 'orders.example.org' } } } });
    const res = await mesh.request('https://orders/x');
    expect(await res.body.text()).toBe('none');
    await mesh.close();
  });

  it('without tls settings, an https:// endpoint gets its own host name as SNI (not the service name)', async () => {
    const cert = await issueCert(ca, { dns: ['localhost'] });
    const seen: string[] = [];
    const server = await startTlsServer('sni', {
      cert: cert.cert,
      key: cert.key,
      SNICallback: (name, cb) => {
        seen.push(name);
        cb(null, undefined);
      },
    });
    servers.push(server);
    const mesh = new MeshClient({ services: { orders: { endpoints: [`https://localhost:${server.port}`] } } });
    // Node's root CAs do not know the test CA: refused, but after SNI was sent.
    const error = await rejection(mesh.request('https://orders/x'));
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(seen).toEqual(['localhost']);
    await mesh.close();
  });

  it('proxyless/server refuses a client without a certificate, and one with a wrong identity (403)', async () => {
    const serverCert = await issueCert(ca, { uris: [ORDERS], ips: ['127.0.0.1'] });
    const denied: string[] = [];
    const authorize = spiffeAuthorizer({ allow: [WEB], onDenied: (_req, reason) => denied.push(reason) });
    const lenient = await startTlsServer(
      'lenient',
      serverTlsOptions({ ca: ca.cert, cert: serverCert.cert, key: serverCert.key, rejectUnauthorized: false }),
      (req, res) => {
        if (authorize(req, res)) res.end('welcome');
      },
    );
    servers.push(lenient);
    const anonymous = new MeshClient({ services: { orders: { endpoints: [lenient.url], tls: { ca: ca.cert, identity: { allow: [ORDERS] } } } } });
    const r1 = await anonymous.request('https://orders/x');
    expect(r1.statusCode).toBe(403);
    expect(await r1.body.text()).toBe('forbidden\n');
    const intruderCert = await issueCert(ca, { uris: [`spiffe://${TD}/ns/prod/sa/intruder`] });
    const intruder = new MeshClient({
      services: { orders: { endpoints: [lenient.url], tls: { ca: ca.cert, cert: intruderCert.cert, key: intruderCert.key, identity: { allow: [ORDERS] } } } },
    });
    const r2 = await intruder.request('https://orders/x');
    expect(r2.statusCode).toBe(403);
    await r2.body.dump();
    const web = new MeshClient({ services: { orders: { endpoints: [lenient.url], tls: tls() } } });
    const r3 = await web.request('https://orders/x');
    expect([r3.statusCode, await r3.body.text()]).toEqual([200, 'welcome']);
    expect(denied).toEqual([
      expect.stringContaining('no verified client certificate'),
      `"spiffe://${TD}/ns/prod/sa/intruder" is not an allowed identity`,
    ]);
    // With the default (rejectUnauthorized: true) a client without a certificate fails the handshake.
    const anonymousToStrict = new MeshClient({ services: { orders: { endpoints: [orders.url], tls: { ca: ca.cert, identity: { allow: [ORDERS] } } } } });
    const before = orders.requests.length;
    const error = await rejection(anonymousToStrict.request('https://orders/x'));
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(orders.requests.length).toBe(before);
    await Promise.all([anonymous.close(), intruder.close(), web.close(), anonymousToStrict.close()]);
  });

  it('merges a service\'s tls over defaults.tls; tls: false turns the defaults off', async () => {
    const mesh = new MeshClient({
      defaults: { tls: { ca: ca.cert, cert: webCert.cert, key: webCert.key } },
      services: {
        orders: { endpoints: [orders.url], tls: { identity: { allow: [ORDERS] } } },
        bare: { endpoints: [orders.url], tls: false },
      },
    });
    expect(await (await mesh.request('https://orders/x')).body.text()).toBe(`orders sees ${WEB}`);
    expect(mesh.snapshot().services.orders?.tls).toEqual({
      generation: 1,
      requireTls: true,
      identity: { allow: [ORDERS] },
      clientCertificate: true,
      certificateNotAfter: expect.any(String),
    });
    // Without the defaults, Node's root CAs do not know the test CA.
    const error = await rejection(mesh.request('https://bare/x'));
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(mesh.snapshot().services.bare?.tls).toEqual({ generation: 0, requireTls: false });
    await mesh.close();
  });

  it('reads material from files', async () => {
    await writeFile(join(dir, 'ca.pem'), ca.cert);
    await writeFile(join(dir, 'web.pem'), webCert.cert);
    await writeFile(join(dir, 'web-key.pem'), webCert.key);
    const mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [orders.url],
          tls: {
            ca: { file: join(dir, 'ca.pem') },
            cert: { file: join(dir, 'web.pem') },
            key: { file: join(dir, 'web-key.pem') },
            identity: { allow: [ORDERS] },
            watch: false,
          },
        },
      },
    });
    expect(await (await mesh.request('https://orders/x')).body.text()).toBe(`orders sees ${WEB}`);
    await mesh.close();
  });

  it('rejects bad TLS configuration with paths', async () => {
    const other = await issueCert(ca, { uris: [WEB] });
    const cases: [unknown, string[]][] = [
      [{ ca: { file: join(dir, 'missing.pem') } }, ['services.orders.tls.ca']],
      [{ ca: 'not a certificate' }, ['services.orders.tls.ca']],
      [{ cert: webCert.cert }, ['services.orders.tls.key']],
      [{ cert: webCert.cert, key: other.key }, ['services.orders.tls.key']],
      [{ cert: 'garbage', key: webCert.key }, ['services.orders.tls.cert']],
      [{ ca: ca.cert, identity: {} }, ['services.orders.tls.identity']],
      [{ identity: { trustDomain: TD } }, ['services.orders.tls.ca']],
      [{ ca: ca.cert, identity: { trustDomain: TD, allow: ['spiffe://other.org/x', 'https://x/y'] } }, ['services.orders.tls.identity.allow.0', 'services.orders.tls.identity.allow.1']],
      [{ minVersion: 'TLSv1.0', servername: '127.0.0.1', verify: true }, ['services.orders.tls.verify', 'services.orders.tls.servername', 'services.orders.tls.minVersion']],
    ];
    for (const [value, paths] of cases) {
      const error = await rejection(Promise.resolve().then(() => new MeshClient({ services: { orders: { endpoints: [orders.url], tls: value as TlsOptions } } })));
      expect(error).toBeInstanceOf(MeshConfigError);
      expect((error as MeshConfigError).issues.map((i) => i.path).sort()).toEqual([...paths].sort());
    }
    const expired = await issueCert(ca, { uris: [WEB], validForMs: -60_000 });
    const error = await rejection(
      Promise.resolve().then(() => new MeshClient({ services: { orders: { tls: { cert: expired.cert, key: expired.key } } } })),
    );
    expect((error as MeshConfigError).issues).toEqual([{ path: 'services.orders.tls.cert', message: expect.stringContaining('expired') }]);
  });
});

describe('requireTls and https:// URLs', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startServer('plain');
  });
  afterAll(() => plain.close());

  it('refuses a static plaintext endpoint in a service that requires TLS', () => {
    let error: unknown;
    try {
      new MeshClient({ services: { orders: { endpoints: ['https://127.0.0.1:1', plain.url], requireTls: true } } });
    } catch (e) {
      error = e;
    }
    expect((error as MeshConfigError).issues).toEqual([
      { path: 'services.orders.endpoints.1', message: `plaintext endpoint ${plain.url} in a service that requires TLS (use https://)` },
    ]);
  });

  it('an identity implies requireTls, and cannot be combined with requireTls: false', async () => {
    const ca = await createCa();
    let error: unknown;
    try {
      new MeshClient({ services: { orders: { endpoints: [plain.url], requireTls: false, tls: { ca: ca.cert, identity: { trustDomain: TD } } } } });
    } catch (e) {
      error = e;
    }
    expect((error as MeshConfigError).issues.map((i) => i.path)).toEqual(['services.orders.requireTls', 'services.orders.endpoints.0']);
  });

  it('an https:// URL never goes to a plaintext endpoint (MESH_TLS_REQUIRED, nothing sent)', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [plain.url] } } });
    const error = await rejection(mesh.request('https://orders/x'));
    expect(isMeshError(error, 'MESH_TLS_REQUIRED')).toBe(true);
    expect(plain.requests).toHaveLength(0);
    // http:// to the same service is plaintext by the endpoint's choice.
    expect((await mesh.request('http://orders/x')).statusCode).toBe(200);
    await mesh.close();
  });
});
