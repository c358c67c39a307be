// Example: testing code that uses proxyless, with node:test and node:assert (no test framework to install).
// Run: npm run test:examples-testing
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { compare, createTestMesh, expectCalls, stratifiedRandom, type TestMesh } from 'proxyless/testing';
import { productionConfig } from '../config.js';
import { getOrder } from '../orders-client.js';

describe('orders client (node:test)', () => {
  let t: TestMesh;
  beforeEach(() => {
    t = createTestMesh(productionConfig, { random: stratifiedRandom(100) });
  });
  afterEach(() => t.close());

  it('code under test calling mesh.fetch gets the scripted response', async () => {
    for (const e of t.endpoints('orders')) e.reply(200, { id: 42, status: 'shipped' });
    assert.deepEqual(await getOrder(t.mesh, 42), { id: 42, status: 'shipped' });
    // The kit's helpers throw their own readable diff...
    expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }]);
    // ...or compare plain data and hand the diff to node:assert.
    const check = compare([{ headers: { accept: 'application/json', host: 'orders' } }], t.calls('orders'));
    assert.ok(check.pass, check.diff);
  });

  it('a canary split of 90/10 is exact under the test random source', async () => {
    for (const e of t.endpoints('orders')) e.reply(200, { id: 1, status: e.url.endsWith('.3:8080') ? 'v2' : 'v1' });
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 1000; i++) counts[(await getOrder(t.mesh, 1))!.status as 'v1' | 'v2']++;
    assert.deepEqual(counts, { v1: 900, v2: 100 });
  });

  it('testers with the canary header always reach v2', async () => {
    for (const e of t.endpoints('orders')) e.reply(200, e.url);
    for (let i = 0; i < 20; i++) await (await t.mesh.request('http://orders/', { headers: { 'x-canary': 'yes' } })).body.dump();
    assert.deepEqual([...new Set(t.calls('orders').map((c) => c.endpoint))], ['http://10.1.0.3:8080']);
  });
});
