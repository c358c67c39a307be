import { describe, expect, expectTypeOf, it } from 'vitest';
import { MeshClient, type MeshClientOptions, type MetricEvent } from '../../../src/index.js';
import { createTestMesh, stratifiedRandom, type EndpointCall, type TestMesh } from '../../../src/testing/index.js';

/** A production-style config: routes, a canary split, an observer, a logger, even a transport of its own. */
function productionConfig(events: MetricEvent[]): MeshClientOptions {
  return {
    services: {
      orders: {
        endpoints: [
          { url: 'http://10.1.0.1:8080', labels: { version: 'v1' } },
          { url: 'http://10.1.0.2:8080', labels: { version: 'v1' } },
          { url: 'http://10.1.0.3:8080', labels: { version: 'v2' } },
        ],
        routes: [
          { name: 'testers', match: { headers: { 'x-canary': 'yes' } }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
          { name: 'release', split: [{ subset: { version: 'v1' }, weight: 90 }, { subset: { version: 'v2' }, weight: 10 }] },
        ],
      },
    },
    egress: 'deny',
    observers: [{ onMetric: (e) => events.push(e) }],
    transport: () => {
      throw new Error('the production transport must not be used in tests');
    },
  };
}

async function versions(t: TestMesh, n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const v = await (await t.mesh.request('http://orders/', { headers })).body.text();
    counts[v] = (counts[v] ?? 0) + 1;
  }
  return counts;
}

function script(t: TestMesh): void {
  for (const e of t.mesh.snapshot().services.orders!.endpoints) t.endpoint(e.url as string).reply(200, (e.labels as Record<string, string>).version);
}

describe('createTestMesh', () => {
  it('takes the production config, swaps only transport, clock and random; keeps observers, routes and egress', async () => {
    const events: MetricEvent[] = [];
    const t = createTestMesh(productionConfig(events));
    expect(t.mesh).toBeInstanceOf(MeshClient);
    script(t);
    expect(await versions(t, 5, { 'x-canary': 'yes' })).toEqual({ v2: 5 });
    await expect(t.mesh.request('http://payments/')).rejects.toMatchObject({ code: 'MESH_UNKNOWN_SERVICE' });
    expect(events.filter((e) => e.type === 'request').length).toBe(6);
    expect(t.mesh.snapshot().version).toBe(1);
    await t.close();
    expect(t.mesh.closed).toBe(true);
    await t.close();
  });

  it('a 90/10 canary split is exact with stratifiedRandom, and reproducible with the seeded default', async () => {
    const exact = createTestMesh(productionConfig([]), { random: stratifiedRandom(100) });
    script(exact);
    expect(await versions(exact, 1000)).toEqual({ v1: 900, v2: 100 });
    await exact.close();

    const runSeeded = async (seed: number) => {
      const t = createTestMesh(productionConfig([]), { seed });
      script(t);
      const counts = await versions(t, 2000);
      const order = t.calls().map((c: EndpointCall) => c.endpoint);
      await t.close();
      return { counts, order };
    };
    const a = await runSeeded(42);
    expect(await runSeeded(42)).toEqual(a);
    expect(Math.abs(a.counts.v2! - 200)).toBeLessThanOrEqual(40);
    expect(a.counts.v1! + a.counts.v2!).toBe(2000);
  });

  it('clearHistory forgets calls and decisions, keeps scripts', async () => {
    const t = createTestMesh(productionConfig([]));
    script(t);
    await versions(t, 3);
    t.clearHistory();
    expect([t.calls().length, t.log.requests.length, t.endpoint('orders', 0).calls.length]).toEqual([0, 0, 0]);
    expect(await versions(t, 1, { 'x-canary': 'yes' })).toEqual({ v2: 1 });
    await t.close();
  });

  it('has a typed surface', () => {
    expectTypeOf(createTestMesh).parameter(0).toEqualTypeOf<MeshClientOptions>();
    expectTypeOf<TestMesh['calls']>().returns.toEqualTypeOf<EndpointCall[]>();
    expectTypeOf<TestMesh['clock']['advance']>().returns.toEqualTypeOf<Promise<void>>();
  });
});
