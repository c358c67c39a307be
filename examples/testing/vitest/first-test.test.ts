// docs/testing.md's first test, as written (the page marks it `<!-- snippet: in: ... -->`).
// Run with the other example suites: npm run test:examples-testing
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestMesh, expectCalls, type TestMesh } from 'proxyless/testing';
import { productionConfig } from '../config.js';
import { getOrder } from '../orders-client.js';

let t: TestMesh;
beforeEach(() => { t = createTestMesh(productionConfig); });
afterEach(() => t.close());

it('returns the order', async () => {
  for (const e of t.endpoints('orders')) e.reply(200, { id: 42, status: 'shipped' });

  expect(await getOrder(t.mesh, 42)).toEqual({ id: 42, status: 'shipped' });
  expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42', headers: { accept: 'application/json' } }]);
});
