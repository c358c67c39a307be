import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type MeshConfig } from '../../../src/index.js';
import { seededRandom } from '../../helpers/random.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

describe('routes', () => {
  let v1: TestServer;
  let v2: TestServer;
  let legacy: TestServer;
  let mesh: MeshClient;

  beforeAll(async () => {
    v1 = await startServer('v1');
    v2 = await startServer('v2');
    legacy = await startServer('legacy');
    const config: MeshConfig = {
      services: {
        orders: {
          endpoints: [
            { url: v1.url, labels: { version: 'v1' } },
            { url: v2.url, labels: { version: 'v2' } },
          ],
          routes: [
            { name: 'canary-header', match: { headers: { 'x-canary': 'yes' } }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
            { name: 'beta-users', match: { headers: { 'x-user': { regex: 'beta-[0-9]+' } } }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
            { name: 'debug', match: { headers: { 'x-debug': { present: true } }, method: ['GET', 'HEAD'] }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
            { name: 'exports', match: { path: { prefix: '/exports/' } }, split: [{ service: 'legacy', weight: 1 }] },
            { name: 'health', match: { path: { exact: '/healthz' } }, split: [{ subset: { version: 'v1' }, weight: 1 }] },
            { name: 'ids', match: { path: { regex: '/orders/[0-9]+' }, method: 'DELETE' }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
            { name: 'query', match: { query: { preview: 'true' } }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
            { name: 'stable', split: [{ subset: { version: 'v1' }, weight: 1 }] },
          ],
        },
        legacy: { endpoints: [legacy.url] },
      },
    };
    mesh = new MeshClient(config);
  });
  afterAll(async () => {
    await mesh.close();
    await Promise.all([v1, v2, legacy].map((s) => s.close()));
  });

  async function who(path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<string> {
    const res = await mesh.request(`http://orders${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers });
    return res.body.text();
  }

  it('matches headers exactly, by regex and by presence', async () => {
    expect(await who('/x', { headers: { 'x-canary': 'yes' } })).toBe('v2');
    expect(await who('/x', { headers: { 'x-canary': 'no' } })).toBe('v1');
    expect(await who('/x', { headers: { 'X-User': 'beta-42' } })).toBe('v2');
    expect(await who('/x', { headers: { 'x-user': 'beta-x' } })).toBe('v1');
    expect(await who('/x', { headers: { 'x-debug': '' } })).toBe('v2');
    expect(await who('/x', { method: 'POST', headers: { 'x-debug': '1' } })).toBe('v1');
  });

  it('matches paths by prefix, exact and regex (without the query), methods and query parameters', async () => {
    expect(await who('/exports/2024.csv')).toBe('legacy');
    expect(await who('/healthz')).toBe('v1');
    expect(await who('/healthz?verbose=1')).toBe('v1');
    expect(await who('/orders/42', { method: 'DELETE' })).toBe('v2');
    expect(await who('/orders/42x', { method: 'DELETE' })).toBe('v1');
    expect(await who('/orders/42', { method: 'GET' })).toBe('v1');
    expect(await who('/list?preview=true&x=1')).toBe('v2');
    expect(await who('/list?preview=false')).toBe('v1');
  });

  it('sends a request that matches no route to the whole service', async () => {
    const m = new MeshClient({
      services: {
        s: {
          endpoints: [{ url: v1.url, labels: { version: 'v1' } }, { url: v2.url, labels: { version: 'v2' } }],
          routes: [{ match: { path: { prefix: '/only/' } }, split: [{ subset: { version: 'v2' }, weight: 1 }] }],
        },
      },
    });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await (await m.request('http://s/other')).body.text());
    expect([...seen].sort()).toEqual(['v1', 'v2']);
    await m.close();
  });

  it('never falls back to the wrong version when a subset has no endpoint', async () => {
    const m = new MeshClient({
      services: {
        s: { endpoints: [], routes: [{ split: [{ subset: { version: 'v3' }, weight: 1 }] }] },
      },
    });
    const err = await m.request('http://s/').catch((e: unknown) => e);
    expect(isMeshError(err, 'MESH_NO_HEALTHY_ENDPOINT')).toBe(true);
    expect((err as Error).message).toMatch(/s\[version=v3\]/);
    await m.close();
  });
});

describe('weighted splits', () => {
  it('sends a 90/10 canary split within ±1.5 points over 20,000 real requests (seeded)', { timeout: 60_000 }, async () => {
    const a = await startServer('stable');
    const b = await startServer('canary');
    const mesh = new MeshClient({
      random: seededRandom(7),
      services: {
        orders: {
          endpoints: [
            { url: a.url, labels: { track: 'stable' } },
            { url: b.url, labels: { track: 'canary' } },
          ],
          routes: [{ split: [{ subset: { track: 'stable' }, weight: 90 }, { subset: { track: 'canary' }, weight: 10 }] }],
        },
      },
    });
    const total = 20_000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) {
          next++;
          const res = await mesh.request('http://orders/');
          await res.body.dump();
        }
      }),
    );
    const share = (100 * b.requests.length) / (a.requests.length + b.requests.length);
    expect(a.requests.length + b.requests.length).toBe(total);
    expect(Math.abs(share - 10)).toBeLessThanOrEqual(1.5);
    const routing = mesh.snapshot().services.orders!.routing as { routes: { split: { share: number }[] }[] };
    expect(routing.routes[0]!.split.map((s) => s.share)).toEqual([0.9, 0.1]);
    await mesh.close();
    await Promise.all([a.close(), b.close()]);
  });
});
