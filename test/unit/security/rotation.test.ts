import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, type HealthEvent } from '../../../src/index.js';
import { serverTlsOptions, watchServerTls } from '../../../src/server/index.js';
import { createCa, issueCert, type TestCa, type TestCert } from '../../helpers/pki.js';
import { startTlsServer, type TestTlsServer } from '../../helpers/tls-servers.js';

const ORDERS = 'spiffe://example.org/ns/prod/sa/orders';
const WEB = 'spiffe://example.org/ns/prod/sa/web';

const fingerprint = (c: TestCert): string => new X509Certificate(c.cert).fingerprint256;

/** Replaces a file atomically (write aside, then rename), as rotation tools do. */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

function waitFor(events: HealthEvent[], count: number, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (events.length >= count) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error(`waited for ${count} events, saw ${JSON.stringify(events)}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

describe('certificate rotation', () => {
  let ca: TestCa;
  let server: TestTlsServer;
  let dir: string;
  let files: { ca: string; cert: string; key: string };
  let mesh: MeshClient | undefined;
  const tlsEvents: HealthEvent[] = [];

  beforeAll(async () => {
    ca = await createCa();
    const serverCert = await issueCert(ca, { uris: [ORDERS] });
    server = await startTlsServer('orders', serverTlsOptions({ ca: ca.cert, cert: serverCert.cert, key: serverCert.key }));
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proxyless-rotation-'));
    files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    tlsEvents.length = 0;
  });
  afterEach(async () => {
    await mesh?.close();
    mesh = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function client(watch: { debounceMs: number; pollMs: number }): MeshClient {
    mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [server.url],
          tls: {
            ca: { file: files.ca },
            cert: { file: files.cert },
            key: { file: files.key },
            identity: { allow: [ORDERS] },
            watch,
          },
        },
      },
      observers: [{ onHealth: (e) => (e.type.startsWith('tls-') ? tlsEvents.push(e) : undefined) }],
    });
    return mesh;
  }

  async function peerOfNextRequest(m: MeshClient): Promise<string | null> {
    const res = await m.request('https://orders/x');
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    return server.requests.at(-1)?.peer ?? null;
  }

  it('rotates to new files on disk, refuses invalid or unreadable ones and keeps the old material', async () => {
    const a = await issueCert(ca, { uris: [WEB] });
    const b = await issueCert(ca, { uris: [WEB] });
    replace(files.ca, ca.cert);
    replace(files.cert, a.cert);
    replace(files.key, a.key);
    const m = client({ debounceMs: 50, pollMs: 60_000 });
    expect(await peerOfNextRequest(m)).toBe(fingerprint(a));

    replace(files.key, b.key);
    replace(files.cert, b.cert);
    await waitFor(tlsEvents, 1);
    expect(await peerOfNextRequest(m)).toBe(fingerprint(b));

    replace(files.cert, 'not a certificate');
    await waitFor(tlsEvents, 2);
    expect(await peerOfNextRequest(m)).toBe(fingerprint(b));

    await unlink(files.key);
    await waitFor(tlsEvents, 3);
    expect(await peerOfNextRequest(m)).toBe(fingerprint(b));

    expect(tlsEvents.map((e) => [e.type, e.service])).toEqual([
      ['tls-updated', 'orders'],
      ['tls-update-rejected', 'orders'],
      ['tls-update-rejected', 'orders'],
    ]);
    expect(tlsEvents[1]?.reason).toContain('tls.cert: the certificate does not parse');
    expect(tlsEvents[2]?.reason).toContain('cannot read key file');
  });

  it('a pair read in the middle of a rotation is read again before it is refused', async () => {
    const a = await issueCert(ca, { uris: [WEB] });
    const b = await issueCert(ca, { uris: [WEB] });
    replace(files.ca, ca.cert);
    replace(files.cert, a.cert);
    replace(files.key, a.key);
    const m = client({ debounceMs: 600, pollMs: 60_000 });
    expect(await peerOfNextRequest(m)).toBe(fingerprint(a));
    // The key first; the certificate 900 ms later: the reload at ~600 ms reads b's key with a's certificate,
    // waits 600 ms and reads again, by then the pair is b's.
    replace(files.key, b.key);
    await new Promise((resolve) => setTimeout(resolve, 900));
    replace(files.cert, b.cert);
    await waitFor(tlsEvents, 1);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(tlsEvents.map((e) => e.type)).toEqual(['tls-updated']);
    expect(await peerOfNextRequest(m)).toBe(fingerprint(b));
  });

  it('polls when no watch event comes', async () => {
    const a = await issueCert(ca, { uris: [WEB] });
    const b = await issueCert(ca, { uris: [WEB] });
    replace(files.ca, ca.cert);
    replace(files.cert, a.cert);
    replace(files.key, a.key);
    // A debounce longer than the poll: the poll finds the change first.
    const m = client({ debounceMs: 60_000, pollMs: 50 });
    replace(files.key, b.key);
    replace(files.cert, b.cert);
    await waitFor(tlsEvents, 1);
    expect(tlsEvents.map((e) => e.type)).toEqual(['tls-updated']);
    expect(await peerOfNextRequest(m)).toBe(fingerprint(b));
  });

  it('takes material pushed with updateTls, and refuses invalid material with an event', async () => {
    const a = await issueCert(ca, { uris: [WEB] });
    const b = await issueCert(ca, { uris: [WEB] });
    const m = new MeshClient({
      services: { orders: { endpoints: [server.url], tls: { ca: ca.cert, cert: a.cert, key: a.key, identity: { allow: [ORDERS] } } } },
      observers: [{ onHealth: (e) => (e.type.startsWith('tls-') ? tlsEvents.push(e) : undefined) }],
    });
    mesh = m;
    expect(await peerOfNextRequest(m)).toBe(fingerprint(a));
    await m.updateTls('orders', { cert: b.cert, key: b.key });
    expect(await peerOfNextRequest(m)).toBe(fingerprint(b));
    let error: unknown;
    try {
      await m.updateTls('orders', { key: a.key });
    } catch (e) {
      error = e;
    }
    expect((error as MeshConfigError).issues).toEqual([
      { path: 'services.orders.tls.key', message: 'the private key does not belong to the certificate' },
    ]);
    expect(await peerOfNextRequest(m)).toBe(fingerprint(b));
    await expect(m.updateTls('billing', { cert: b.cert })).rejects.toBeInstanceOf(MeshConfigError);
    expect(tlsEvents.map((e) => e.type)).toEqual(['tls-updated', 'tls-update-rejected']);
  });

  it('a request in flight during a rotation finishes on its connection; the next uses the new material', async () => {
    const a = await issueCert(ca, { uris: [WEB] });
    const b = await issueCert(ca, { uris: [WEB] });
    const serverCert = await issueCert(ca, { uris: [ORDERS] });
    let release: (() => void) | undefined;
    const slow = await startTlsServer('slow', serverTlsOptions({ ca: ca.cert, cert: serverCert.cert, key: serverCert.key }), (req, res) => {
      if (req.url === '/slow') release = () => res.end('slow done');
      else res.end('fast');
    });
    const m = new MeshClient({
      services: { orders: { endpoints: [slow.url], tls: { ca: ca.cert, cert: a.cert, key: a.key, identity: { allow: [ORDERS] } } } },
    });
    mesh = m;
    const inFlight = m.request('https://orders/slow');
    while (!release) await new Promise((r) => setTimeout(r, 5));
    await m.updateTls('orders', { cert: b.cert, key: b.key });
    const after = await m.request('https://orders/fast');
    expect(await after.body.text()).toBe('fast');
    release();
    const res = await inFlight;
    expect([res.statusCode, await res.body.text()]).toEqual([200, 'slow done']);
    expect(slow.requests.map((r) => [r.url, r.peer])).toEqual([
      ['/slow', fingerprint(a)],
      ['/fast', fingerprint(b)],
    ]);
    await slow.close();
  });

  it('rotates every second under 50 concurrent callers for 10 s without a failed request', async () => {
    const certs = await Promise.all(Array.from({ length: 4 }, () => issueCert(ca, { uris: [WEB] })));
    const serverCerts = await Promise.all(Array.from({ length: 4 }, () => issueCert(ca, { uris: [ORDERS] })));
    replace(files.ca, ca.cert);
    replace(files.cert, (certs[0] as TestCert).cert);
    replace(files.key, (certs[0] as TestCert).key);
    const m = client({ debounceMs: 20, pollMs: 500 });
    const before = server.requests.length;
    let ok = 0;
    const failures: unknown[] = [];
    let running = true;
    const caller = async (): Promise<void> => {
      while (running) {
        try {
          const res = await m.request('https://orders/x');
          await res.body.dump();
          if (res.statusCode === 200) ok++;
          else failures.push(res.statusCode);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const callers = Array.from({ length: 50 }, caller);
    let rotations = 0;
    const rotate = setInterval(() => {
      rotations++;
      const c = certs[rotations % certs.length] as TestCert;
      replace(files.key, c.key);
      replace(files.cert, c.cert);
      // The server rotates its own certificate too.
      const s = serverCerts[rotations % serverCerts.length] as TestCert;
      server.server.setSecureContext(serverTlsOptions({ ca: ca.cert, cert: s.cert, key: s.key }));
    }, 1000);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    clearInterval(rotate);
    running = false;
    await Promise.all(callers);
    expect(failures).toEqual([]);
    expect(rotations).toBeGreaterThanOrEqual(8);
    // Every rotation was taken (one event each), none refused.
    expect(tlsEvents.filter((e) => e.type === 'tls-update-rejected')).toEqual([]);
    expect(tlsEvents.length).toBeGreaterThanOrEqual(rotations - 1);
    // The server saw several client certificates over the run.
    const peers = new Set(server.requests.slice(before).map((r) => r.peer));
    expect(peers.size).toBeGreaterThanOrEqual(3);
    // Throughput depends on the machine (2 shared cores in CI); the point is that none failed.
    expect(ok).toBeGreaterThan(50);
    console.log(`rotation under load: ${ok} requests, ${rotations} rotations, ${tlsEvents.length} swaps, 0 failures`);
  }, 30_000);
});

describe('server certificate rotation (proxyless/server)', () => {
  it('watchServerTls swaps the server certificate for new handshakes and refuses bad files', async () => {
    const ca = await createCa();
    const dir = await mkdtemp(join(tmpdir(), 'proxyless-server-rotation-'));
    const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
    const before = await issueCert(ca, { uris: [ORDERS] });
    const BILLING = 'spiffe://example.org/ns/prod/sa/billing';
    const after = await issueCert(ca, { uris: [BILLING] });
    replace(files.ca, ca.cert);
    replace(files.cert, before.cert);
    replace(files.key, before.key);
    const sources = { ca: { file: files.ca }, cert: { file: files.cert }, key: { file: files.key } };
    const server = await startTlsServer('orders', serverTlsOptions(sources));
    const log: string[] = [];
    const watch = watchServerTls(server.server, {
      ...sources,
      debounceMs: 30,
      pollMs: 60_000,
      onUpdate: () => log.push('updated'),
      onRejected: (reason) => log.push(`rejected: ${reason}`),
    });
    const web = await issueCert(ca, { uris: [WEB] });
    const call = async (allow: string): Promise<string> => {
      const mesh = new MeshClient({
        services: { orders: { endpoints: [server.url], tls: { ca: ca.cert, cert: web.cert, key: web.key, identity: { allow: [allow] } } } },
      });
      try {
        const res = await mesh.request('https://orders/x');
        await res.body.dump();
        return String(res.statusCode);
      } catch (error) {
        return (error as { code?: string }).code ?? 'error';
      } finally {
        await mesh.close();
      }
    };
    expect([await call(ORDERS), await call(BILLING)]).toEqual(['200', 'MESH_PEER_IDENTITY']);
    replace(files.key, after.key);
    replace(files.cert, after.cert);
    const until = Date.now() + 10_000;
    while (log.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect([await call(ORDERS), await call(BILLING)]).toEqual(['MESH_PEER_IDENTITY', '200']);
    replace(files.cert, 'garbage');
    while (log.length === 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(await call(BILLING)).toBe('200');
    expect(log).toEqual(['updated', expect.stringContaining('rejected: tls.cert: the certificate does not parse')]);
    watch.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
});
