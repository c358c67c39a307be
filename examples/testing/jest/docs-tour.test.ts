// The jest fake-timer snippet of docs/testing.md, run as written (the page marks it
// `<!-- snippet: in: ... -->`). Run with the other example suites: npm run test:examples-testing
import { afterEach, expect, it, jest } from '@jest/globals';
import type { MeshClientOptions } from 'proxyless';
import { createTestMesh, type TestMesh } from 'proxyless/testing';
import { getOrder } from '../orders-client.js';

let open: TestMesh | undefined;
afterEach(async () => {
  await open?.close();
  jest.useRealTimers();
});

it("docs/testing.md: jest's fake timers drive the mesh", async () => {
  const config: MeshClientOptions = { services: { orders: { endpoints: ['http://10.1.0.1:8080'] } } };
  // jest: keep the microtask and I/O queues real, undici's streams need them
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
  const t = createTestMesh(config, { clock: 'globals' });
  t.endpoint('orders', 0).reply(200, { id: 1 }, { delayMs: 250 });
  const p = getOrder(t.mesh, 1);
  await jest.advanceTimersByTimeAsync(250);
  open = t;
  expect(await p).toEqual({ id: 1 });
});
