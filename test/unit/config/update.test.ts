import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, type ConfigEvent, type HealthEvent } from '../../../src/index.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

describe('updateConfig', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await startServers(3);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('swaps endpoints atomically and emits the diff and the new version', async () => {
    const health: HealthEvent[] = [];
    const config: ConfigEvent[] = [];
    const mesh = new MeshClient({
      services: { orders: { endpoints: [servers[0]!.url, servers[1]!.url] } },
      observers: [{ onHealth: (e) => health.push(e), onConfig: (e) => config.push(e) }],
    });
    expect(health.map((e) => [e.type, e.endpoint])).toEqual([
      ['endpoint-added', servers[0]!.url],
      ['endpoint-added', servers[1]!.url],
    ]);
    expect(config.map((e) => [e.type, e.type === 'applied' ? e.version : 0])).toEqual([['applied', 1]]);
    for (let i = 0; i < 4; i++) await (await mesh.request('http://orders/')).body.text();
    const keptBefore = mesh.snapshot().services.orders!.endpoints.find((e) => e.url === servers[1]!.url)!;

    health.length = 0;
    await mesh.updateConfig({ services: { orders: { endpoints: [servers[1]!.url, servers[2]!.url] } } });
    expect(health.map((e) => [e.type, e.endpoint])).toEqual([
      ['endpoint-added', servers[2]!.url],
      ['endpoint-removed', servers[0]!.url],
    ]);
    expect(config.at(-1)).toMatchObject({ type: 'applied', version: 2 });
    const snap = mesh.snapshot();
    expect(snap.version).toBe(2);
    const kept = snap.services.orders!.endpoints.find((e) => e.url === servers[1]!.url)!;
    // The endpoint that stayed keeps its counters (and pool).
    expect(kept.attempts).toBe(keptBefore.attempts);
    expect(kept.connected).toBe(true);

    const before0 = servers[0]!.requests.length;
    for (let i = 0; i < 6; i++) await (await mesh.request('http://orders/')).body.text();
    expect(servers[0]!.requests.length).toBe(before0);
    await mesh.close();
  });

  it('rejects an invalid update whole: nothing changes, a rejected event names the issues', async () => {
    const config: ConfigEvent[] = [];
    const mesh = new MeshClient({
      services: { orders: { endpoints: [servers[0]!.url] } },
      observers: [{ onConfig: (e) => config.push(e) }],
    });
    const bad = { services: { orders: { endpoints: [servers[1]!.url, { url: servers[2]!.url, weight: 0 }] } } };
    const error = await mesh.updateConfig(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as MeshConfigError).issues.map((i) => i.path)).toEqual(['services.orders.endpoints.1.weight']);
    expect(config.at(-1)).toMatchObject({ type: 'rejected', issues: [{ path: 'services.orders.endpoints.1.weight' }] });
    expect(mesh.snapshot().version).toBe(1);
    expect(mesh.snapshot().services.orders!.endpoints.map((e) => e.url)).toEqual([servers[0]!.url]);
    const res = await mesh.request('http://orders/');
    expect(await res.body.text()).toBe('s0');
    // Client-only hooks are not part of an update.
    await expect(mesh.updateConfig({ observers: [] } as never)).rejects.toMatchObject({
      issues: [{ path: 'observers' }],
    });
    await mesh.close();
  });

  it('lets in-flight requests finish under the config they started with', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [servers[0]!.url] } } });
    const pending = Promise.all(
      Array.from({ length: 20 }, () => mesh.request('http://orders/').then((r) => r.body.text())),
    );
    await mesh.updateConfig({ services: { orders: { endpoints: [servers[2]!.url] } } });
    const bodies = await pending;
    expect(bodies.every((b) => b === 's0')).toBe(true);
    expect(await (await mesh.request('http://orders/')).body.text()).toBe('s2');
    await mesh.close();
  });
});
