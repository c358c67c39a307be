// Example: testing code that uses proxyless, with jest (ESM). Run: npm run test:examples-testing
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createTestMesh, expectCalls, stratifiedRandom, type TestMesh } from 'proxyless/testing';
import { productionConfig } from '../config.js';
import { getOrder } from '../orders-client.js';

describe('orders client (jest)', () => {
  let t: TestMesh;
  afterEach(async () => {
    await t.close();
    jest.useRealTimers();
  });

  describe('with the kit clock', () => {
    beforeEach(() => {
      t = createTestMesh(productionConfig, { random: stratifiedRandom(100) });
    });

    it('code under test calling mesh.fetch gets the scripted response', async () => {
      for (const e of t.endpoints('orders')) e.reply(200, { id: 42, status: 'shipped' });
      expect(await getOrder(t.mesh, 42)).toEqual({ id: 42, status: 'shipped' });
      expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }]);
    });

    it('a canary split of 90/10 is exact under the test random source', async () => {
      for (const e of t.endpoints('orders')) e.reply(200, { id: 1, status: e.url.endsWith('.3:8080') ? 'v2' : 'v1' });
      const counts = { v1: 0, v2: 0 };
      for (let i = 0; i < 1000; i++) counts[(await getOrder(t.mesh, 1))!.status as 'v1' | 'v2']++;
      expect(counts).toEqual({ v1: 900, v2: 100 });
    });
  });

  describe("with jest's fake timers", () => {
    it('a slow endpoint answers when jest advances time, not before', async () => {
      // Keep the microtask and I/O queues real: undici's streams need them.
      jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
      t = createTestMesh(productionConfig, { clock: 'globals' });
      for (const e of t.endpoints('orders')) e.reply(200, { id: 7, status: 'late' }, { delayMs: 2_000 });
      let done = false;
      const order = getOrder(t.mesh, 7).finally(() => (done = true));
      await jest.advanceTimersByTimeAsync(1_999);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(await order).toEqual({ id: 7, status: 'late' });
    });
  });
});
