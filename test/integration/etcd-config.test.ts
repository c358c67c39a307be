import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, type ConfigEvent } from '../../src/index.js';
import { etcdConfigSource } from '../../src/integrations/etcd/index.js';
import { startServers, type TestServer } from '../helpers/servers.js';
import { startEtcd, until, type EtcdServer } from './helpers/engines.js';

const KEY = '/proxyless/config/mesh';

describe('etcdConfigSource against a real etcd', () => {
  let etcd: EtcdServer;
  let s: TestServer[];
  beforeAll(async () => {
    etcd = await startEtcd();
    s = await startServers(2, 'c');
  });
  afterAll(async () => {
    await etcd?.destroy();
    await Promise.all((s ?? []).map((x) => x.close()));
  });

  const config = (i: number) => JSON.stringify({ services: { orders: { endpoints: [s[i]!.url] } } });

  it('applies the key, rejects bad values whole, keeps the last good config through an outage, and resumes', async () => {
    await etcd.put(KEY, config(0));
    const mesh = new MeshClient({});
    const events: unknown[] = [];
    mesh.on('config', (e: ConfigEvent) => events.push(e.type === 'applied' ? ['applied', e.source] : ['rejected', e.issues.map((i) => i.path), e.source]));
    const body = async () => (await mesh.request('http://orders/')).body.text();
    const stop = await mesh.watchConfig(etcdConfigSource(KEY, { endpoints: [etcd.url], reconnectMinMs: 100, reconnectMaxMs: 500 }));
    expect(await body()).toBe('c0');

    await etcd.put(KEY, '{"services": {"orders": ');
    await until(() => events.length === 2, 'the unparseable value to be rejected');
    await etcd.put(KEY, JSON.stringify({ services: { orders: { endpoints: [s[1]!.url], retry: { attempts: -1 } } } }));
    await until(() => events.length === 3, 'the invalid value to be rejected');
    expect(await body()).toBe('c0');

    const t0 = Date.now();
    await etcd.put(KEY, config(1));
    await until(async () => (await body()) === 'c1', 'the new config', 2_000, 5);
    const applyMs = Date.now() - t0;

    // etcd down: the last good config keeps serving.
    await etcd.stop();
    await until(() => events.length === 5, 'the outage to be reported', 10_000, 20);
    for (let i = 0; i < 20; i++) expect(await body()).toBe('c1');
    await etcd.start();
    await etcd.put(KEY, config(0));
    await until(async () => (await body()) === 'c0', 'the watch to resume', 15_000, 50);

    stop();
    await etcd.put(KEY, config(1));
    await new Promise((r) => setTimeout(r, 300));
    expect(await body()).toBe('c0');
    await mesh.close();

    const name = `etcd:${KEY}`;
    expect(events.slice(0, 5)).toEqual([
      ['applied', name],
      ['rejected', [''], name],
      ['rejected', ['services.orders.retry.attempts'], name],
      ['applied', name],
      ['rejected', [''], name],
    ]);
    expect(events.slice(5).every((e) => (e as string[])[0] === 'applied')).toBe(true);
    console.log(`etcd config change (from the put call) to serving: ${applyMs} ms`);
    expect(applyMs).toBeLessThan(2_000);
  }, 60_000);
});
