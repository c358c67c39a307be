// Example: testing code that uses proxyless, with vitest. Run: npm run test:examples-testing
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestMesh, expectCalls, stratifiedRandom, type TestMesh } from 'proxyless/testing';
import { productionConfig } from '../config.js';
import { getOrder } from '../orders-client.js';

describe('orders client (vitest)', () => {
  let t: TestMesh;
  beforeEach(() => {
    // An exact split: every 100 consecutive requests see the 90/10 weights exactly.
    t = createTestMesh(productionConfig, { random: stratifiedRandom(100) });
  });
  afterEach(() => t.close());

  it('code under test calling mesh.fetch gets the scripted response', async () => {
    for (const e of t.endpoints('orders')) e.reply(200, { id: 42, status: 'shipped' });
    expect(await getOrder(t.mesh, 42)).toEqual({ id: 42, status: 'shipped' });
    expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42', headers: { accept: 'application/json' } }]);
  });

  it('a 404 becomes undefined, a 503 an error (after the mesh retried it)', async () => {
    for (const e of t.endpoints('orders')) e.handle((call) => (call.path === '/orders/1' ? 404 : 503));
    // The production config retries 503s with backoff on the test clock: clock.run moves test time
    // until the call settles, without real waiting.
    const results = [await getOrder(t.mesh, 1), await t.clock.run(getOrder(t.mesh, 2).catch((e: Error) => e.message))];
    expect(results).toEqual([undefined, 'orders answered 503']);
    expect(t.calls('orders').filter((c) => c.path === '/orders/2').length).toBeGreaterThan(1);
  });

  it('a canary split of 90/10 is exact under the test random source', async () => {
    for (const e of t.endpoints('orders')) e.reply(200, { id: 1, status: e.url.endsWith('.3:8080') ? 'v2' : 'v1' });
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 1000; i++) counts[(await getOrder(t.mesh, 1))!.status as 'v1' | 'v2']++;
    expect(counts).toEqual({ v1: 900, v2: 100 });
  });
});
