import { describe, expect, it } from 'vitest';
import { createTestMesh } from '../../../src/testing/index.js';

/** A chaos run: concurrent traffic over flaky, slow endpoints, faults, and discovery churn mid-flight. */
async function chaos(seed: number) {
  const t = createTestMesh(
    {
      services: {
        orders: {
          endpoints: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080'],
          loadBalancer: 'random',
          // One attempt per request, so calls, attempts and outcomes line up one to one.
          retry: false,
        },
      },
    },
    { seed },
  );
  for (const e of t.endpoints('orders')) e.reply(200, 'ok').latency({ min: 1, max: 40 }).errorRate(0.1, 'reset');
  t.endpoint('orders', 2).flap({ up: 200, down: 503, everyMs: 100 });
  t.endpoint('http://10.0.0.4:8080').reply(200, 'new').latency(5);
  t.faults('orders', { delay: { percent: 10, ms: 250 }, abort: { percent: 5, status: 503 } });

  const outcomes: Promise<string>[] = [];
  const fire = (n: number) => {
    for (let i = 0; i < n; i++) {
      outcomes.push(
        t.mesh.request(`http://orders/o/${outcomes.length}`).then(
          async (r) => `${r.statusCode} ${await r.body.text()}`,
          (e: { code?: string; cause?: { code?: string } }) => `${e.code} ${e.cause?.code}`,
        ),
      );
    }
  };
  fire(100);
  await t.clock.advance(50);
  await t.discovery.push('orders', ['http://10.0.0.1:8080', 'http://10.0.0.4:8080']);
  fire(100);
  await t.clock.advance(1_000);
  const results = await Promise.all(outcomes);
  const summary = { results, calls: t.calls().map((c) => `${c.endpoint} ${c.path} ${c.outcome}`), log: t.log.format() };
  return { t, summary };
}

describe('chaos-style run', () => {
  it('every request settles, the log accounts for each one, calls match outcomes, and the run is reproducible', async () => {
    const { t, summary } = await chaos(11);
    const { results } = summary;
    expect(results).toHaveLength(200);
    const requests = t.log.requestsFor('orders');
    expect(requests.map((r) => r.pending)).toEqual(new Array(200).fill(false));
    // One attempt per request (no retries configured): calls, attempts and requests line up.
    expect(t.calls('orders')).toHaveLength(200);
    expect(requests.every((r) => r.attempts.length === 1)).toBe(true);
    const okCalls = t.calls('orders').filter((c) => c.outcome === '200').length;
    expect(results.filter((r) => r.startsWith('200 ')).length).toBe(okCalls);
    // Each request's logged path is the one its attempt sent; each endpoint served only while it was configured.
    expect(new Set(requests.map((r) => r.path)).size).toBe(200);
    expect(t.calls({ endpoint: 'http://10.0.0.4:8080' }).every((c) => c.time >= 50)).toBe(true);
    expect(t.calls({ endpoint: 'http://10.0.0.2:8080' }).every((c) => c.time < 50)).toBe(true);
    // Every kind of trouble showed up.
    const kinds = new Set(results.map((r) => r.split(' ')[0] + (r.includes('ECONNRESET') ? ' reset' : '')));
    expect([...kinds].sort()).toEqual(['200', '503', 'MESH_UPSTREAM_FAILURE reset']);
    expect(t.calls().some((c) => c.outcome === 'fault:503')).toBe(true);
    await t.close();

    const again = await chaos(11);
    expect(again.summary).toEqual(summary);
    await again.t.close();
  });
});
