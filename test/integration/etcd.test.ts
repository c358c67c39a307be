import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, type HealthEvent } from '../../src/index.js';
import { etcdDiscovery, registerWithEtcd } from '../../src/integrations/etcd/index.js';
import { startServers, type TestServer } from '../helpers/servers.js';
import { startEtcd, startProxy, until, type EtcdServer } from './helpers/engines.js';

const PREFIX = '/proxyless/services/';

describe('etcd discovery and registration against a real etcd', () => {
  let etcd: EtcdServer;
  let s: TestServer[];
  beforeAll(async () => {
    etcd = await startEtcd();
    s = await startServers(4, 'e');
  });
  afterAll(async () => {
    await etcd?.destroy();
    await Promise.all((s ?? []).map((x) => x.close()));
  });

  const urls = (mesh: MeshClient, service: string) => (mesh.snapshot().services[service]?.endpoints ?? []).map((e) => e.url as string);

  it('endpoints added and removed in etcd reach the balancer within 1 s; bad values are rejected alone', async () => {
    await etcd.put(`${PREFIX}catalog/a`, JSON.stringify(s[0]!.url));
    const mesh = new MeshClient({ discovery: etcdDiscovery({ endpoints: [etcd.url] }), services: { catalog: {} } });
    const events: HealthEvent[] = [];
    mesh.on('health', (e) => events.push(e));
    await until(() => urls(mesh, 'catalog').length === 1, 'the initial read');

    let t0 = Date.now();
    await etcd.put(`${PREFIX}catalog/b`, JSON.stringify({ address: '127.0.0.1', port: s[1]!.port, weight: 2 }));
    await until(() => urls(mesh, 'catalog').includes(s[1]!.url), 'the added endpoint', 1_000, 2);
    const addMs = Date.now() - t0;
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await (await mesh.request('http://catalog/')).body.text());
    expect([...seen].sort()).toEqual(['e0', 'e1']);

    t0 = Date.now();
    await etcd.del(`${PREFIX}catalog/a`);
    await until(() => !urls(mesh, 'catalog').includes(s[0]!.url), 'the removed endpoint', 1_000, 2);
    const removeMs = Date.now() - t0;
    await etcd.put(`${PREFIX}catalog/bad1`, 'not json');
    await etcd.put(`${PREFIX}catalog/bad2`, JSON.stringify({ address: '127.0.0.1', port: 99999 }));
    await etcd.put(`${PREFIX}catalog/c`, JSON.stringify(s[2]!.url));
    await until(() => urls(mesh, 'catalog').includes(s[2]!.url), 'the good endpoint next to bad ones', 1_000, 5);
    expect(urls(mesh, 'catalog')).toEqual([s[1]!.url, s[2]!.url]);
    const rejected = events.filter((e) => e.type === 'discovery-rejected').map((e) => e.key);
    expect(rejected).toContain(`${PREFIX}catalog/bad1`);
    expect(rejected).toContain(`${PREFIX}catalog/bad2`);
    console.log(`etcd change (from the put call) to balancer: add ${addMs} ms, remove ${removeMs} ms`);
    expect(addMs).toBeLessThan(1_000);
    expect(removeMs).toBeLessThan(1_000);
    await mesh.close();
  });

  it('etcd stopped for 10 s under load: 0 failed requests, and the watch resumes when it returns', async () => {
    const registrations = await Promise.all(
      [0, 1, 2].map((i) =>
        registerWithEtcd({ endpoints: [etcd.url], service: 'orders', id: `o${i}`, endpoint: s[i]!.url, ttlSeconds: 30 }),
      ),
    );
    const mesh = new MeshClient({
      discovery: etcdDiscovery({ endpoints: [etcd.url], reconnectMinMs: 100, reconnectMaxMs: 1_000 }),
      services: { orders: {} },
    });
    const events: string[] = [];
    mesh.on('health', (e) => events.push(e.type));
    await until(() => urls(mesh, 'orders').length === 3, 'three registered endpoints');

    let ok = 0;
    let failed = 0;
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        try {
          const res = await mesh.request('http://orders/');
          await res.body.text();
          if (res.statusCode === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    await new Promise((r) => setTimeout(r, 500));
    await etcd.stop();
    const stoppedAt = Date.now();
    await until(() => events.includes('discovery-failed'), 'the outage to be noticed', 5_000);
    expect(mesh.snapshot().services.orders!.discovery).toMatchObject({ active: null, stale: true });
    while (Date.now() - stoppedAt < 10_000) await new Promise((r) => setTimeout(r, 100));
    const duringOutage = ok;
    await etcd.start();
    await until(() => events.includes('discovery-recovered'), 'the watch to resume', 15_000);
    // A change made after the restart arrives through the resumed watch.
    await etcd.put(`${PREFIX}orders/late`, JSON.stringify(s[3]!.url));
    await until(() => urls(mesh, 'orders').includes(s[3]!.url), 'a change after the restart', 2_000, 5);
    running = false;
    await load;
    console.log(`etcd outage: ${ok} requests ok (${duringOutage} before the restart), ${failed} failed`);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(100);
    expect(mesh.snapshot().services.orders!.discovery).toMatchObject({ active: `etcd:${PREFIX}`, stale: false });
    await mesh.close();
    await Promise.all(registrations.map((r) => r.close()));
    await etcd.del(`${PREFIX}orders/late`);
  });

  it('resumes the watch from the last revision after a broken link, and re-reads after a compaction', async () => {
    const proxy = await startProxy(etcd.url);
    await etcd.put(`${PREFIX}stock/a`, JSON.stringify(s[0]!.url));
    const mesh = new MeshClient({
      discovery: etcdDiscovery({ endpoints: [proxy.url], reconnectMinMs: 100, reconnectMaxMs: 300 }),
      services: { stock: {} },
    });
    const events: string[] = [];
    mesh.on('health', (e) => events.push(`${e.type} ${e.endpoint ?? ''}`.trim()));
    await until(() => urls(mesh, 'stock').length === 1, 'the initial read');

    // Changes made while the link is down are replayed by the resumed watch.
    proxy.cut();
    await until(() => events.includes('discovery-failed'), 'the broken link to be noticed');
    await etcd.put(`${PREFIX}stock/b`, JSON.stringify(s[1]!.url));
    await etcd.del(`${PREFIX}stock/a`);
    expect(urls(mesh, 'stock')).toEqual([s[0]!.url]); // last known good meanwhile
    proxy.restore();
    await until(() => urls(mesh, 'stock').join() === s[1]!.url, 'the replayed changes', 5_000);
    expect(events).toEqual([
      `endpoint-added ${s[0]!.url}`,
      'discovery-failed',
      'discovery-recovered',
      `endpoint-added ${s[1]!.url}`,
      `endpoint-removed ${s[0]!.url}`,
    ]);

    // If the revision we would resume from was compacted away, the prefix is read again.
    events.length = 0;
    proxy.cut();
    await until(() => events.includes('discovery-failed'), 'the second break');
    await etcd.put(`${PREFIX}stock/c`, JSON.stringify(s[2]!.url));
    await etcd.put(`${PREFIX}stock/c`, JSON.stringify(s[3]!.url));
    const head = (await (await fetch(`${etcd.url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: btoa('/') }) })).json()) as {
      header: { revision: string };
    };
    await fetch(`${etcd.url}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: head.header.revision }) });
    proxy.restore();
    await until(() => urls(mesh, 'stock').includes(s[3]!.url), 'the re-read after compaction', 5_000);
    expect(urls(mesh, 'stock')).toEqual([s[1]!.url, s[3]!.url]);
    expect(events).toEqual(['discovery-failed', 'discovery-recovered', `endpoint-added ${s[3]!.url}`]);
    await mesh.close();
    await proxy.close();
    await etcd.del(`${PREFIX}stock/b`);
    await etcd.del(`${PREFIX}stock/c`);
  });

  it('a registered instance deregisters on close(), re-registers when its lease is lost, and vanishes within its lease TTL when SIGKILLed', async () => {
    const reg = await registerWithEtcd({ endpoints: [etcd.url], service: 'users', id: 'me', endpoint: s[0]!.url, ttlSeconds: 5 });
    expect(await etcd.get(reg.key)).toBe(JSON.stringify(s[0]!.url));
    await reg.close();
    expect(await etcd.get(reg.key)).toBeUndefined();

    // A lease lost behind the instance's back (revoked, or expired during a long outage) is replaced at the next heartbeat.
    const again = await registerWithEtcd({ endpoints: [etcd.url], service: 'users', id: 'again', endpoint: s[1]!.url, ttlSeconds: 3 });
    const firstLease = again.leaseId;
    await fetch(`${etcd.url}/v3/lease/revoke`, { method: 'POST', body: JSON.stringify({ ID: firstLease }) });
    expect(await etcd.get(again.key)).toBeUndefined();
    await until(async () => (await etcd.get(again.key)) !== undefined, 're-registration at the next heartbeat', 3_000, 50);
    expect(again.leaseId).not.toBe(firstLease);
    await again.close();
    expect(await etcd.get(again.key)).toBeUndefined();

    const ttl = 3;
    const fixture = fileURLToPath(new URL('./fixtures/register-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, etcd.url, 'users', String(ttl)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    const { key } = JSON.parse(line) as { key: string; port: number };
    // Live past one TTL: heartbeats keep the key.
    await new Promise((r) => setTimeout(r, ttl * 1000 + 500));
    expect(await etcd.get(key)).toBeDefined();
    child.kill('SIGKILL');
    const killedAt = Date.now();
    const goneMs = await until(async () => (await etcd.get(key)) === undefined, 'the key to expire', ttl * 1000 + 3_000, 50);
    console.log(`SIGKILLed instance vanished ${goneMs} ms after the kill (lease TTL ${ttl} s); ${Date.now() - killedAt} ms`);
    expect(goneMs).toBeLessThanOrEqual(ttl * 1000 + 1_000); // the TTL plus etcd's expiry sweep (500 ms)
  });
});
