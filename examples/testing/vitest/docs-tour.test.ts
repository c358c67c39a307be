// The snippets of docs/testing.md that continue an earlier one (they use its test mesh `t`), each
// run here in the context it needs. The page marks each block `<!-- snippet: in: ... -->` and the
// docs snippet test checks that the block appears here as written; run with the other example
// suites: npm run test:examples-testing
/* eslint-disable @typescript-eslint/no-unused-expressions -- the page lists members of `t.log` and `t.discovery` as bare expressions */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MeshClientOptions, ServiceOptions } from 'proxyless';
import { createTestMesh, expectCalls, expectDecisions, type TestMesh } from 'proxyless/testing';
import { productionConfig } from '../config.js';
import { getOrder } from '../orders-client.js';

describe('docs/testing.md, as written', () => {
  const open: TestMesh[] = [];
  afterEach(async () => {
    for (const m of open.splice(0)) await m.close();
  });
  const mesh = (config: MeshClientOptions, options?: Parameters<typeof createTestMesh>[1]): TestMesh => {
    const m = createTestMesh(config, options);
    open.push(m);
    return m;
  };

  it('1. Your fake timers: vitest', async () => {
    const config: MeshClientOptions = { services: { orders: { endpoints: ['http://10.1.0.1:8080'] } } };
    try {
      vi.useFakeTimers();                                    // vitest
      const t = createTestMesh(config, { clock: 'globals' });
      t.endpoint('orders', 0).reply(200, { id: 1 }, { delayMs: 250 });
      const p = getOrder(t.mesh, 1);
      await vi.advanceTimersByTimeAsync(250);
      open.push(t);
      expect(await p).toEqual({ id: 1 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('2. Scripting endpoints: every script step, then back to unscripted', async () => {
    const t = mesh({ services: { orders: { endpoints: ['http://10.1.0.1:8080'], retry: false } } });
    const e = t.endpoint('orders', 0);
    e.reply(200, { id: 1 });                        // standing: 200 with a JSON body
    e.replyOnce(503).failOnce('reset');             // the next two calls: 503, then a reset
    e.reply(200, 'slow', { delayMs: 500, headers: { 'x-version': 'v2' } });
    e.fail('connect-refused');                      // every call refused from now on
    e.hang();                                       // never answers; the mesh must time out or abort
    e.flap({ up: 200, down: 'connect-refused', every: 3 });   // 3 up, 3 down, ...
    e.flap({ everyMs: 5_000 });                     // up for 5 s of test time, down for 5 s, ...
    e.handle((call) => (call.path.startsWith('/admin') ? 403 : { status: 200, body: call.body }));
    e.queue(200, 'reset', { status: 500, body: 'boom' });
    e.clear();                                      // back to unscripted
    // Unscripted: the call goes to the MockAgent, which has no interceptor for it.
    await expect(t.mesh.request('http://orders/x')).rejects.toMatchObject({
      code: 'MESH_UPSTREAM_FAILURE',
      cause: { code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' },
    });
  });

  it('5. expectCalls: fields that matter, in order', async () => {
    const t = mesh({ services: { orders: { endpoints: ['http://10.1.0.1:8080'] }, payments: { endpoints: ['http://10.2.0.1:8080'] } } });
    t.endpoint('orders', 0).reply(200);
    t.endpoint('payments', 0).reply(201);
    await (await t.mesh.request('http://orders/orders/42')).body.dump();
    await (await t.mesh.request('http://orders/orders/43', { method: 'DELETE' })).body.dump();
    for (let i = 0; i < 3; i++) await (await t.mesh.request('http://payments/orders/42/pay', { method: 'POST', body: 'x' })).body.dump();
    expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }, { method: 'DELETE' }]);
    expectCalls(t, { method: 'POST', path: /^\/orders/ }).toHaveLength(3);
    expect(() => expectCalls(t, 'orders').toHaveLength(3)).toThrow(/calls of orders/);
  });

  it('6. The decision log', async () => {
    const t = mesh(productionConfig);
    for (const e of t.endpoints('orders')) e.reply(200, { id: 1 });
    await getOrder(t.mesh, 1);
    t.log.requests        // RequestDecision[]: per request, in order
    t.log.tried('orders') // [['http://a:8080'], ['http://a:8080', 'http://b:8080'], ...]
    t.log.transitions({ service: 'orders' })   // circuit-*, endpoint-ejected/restored, healthy/unhealthy, panic
    t.log.health          // every health event with its test-clock time
    t.log.timeline        // every event, raw, in arrival order
    console.log(t.log.format());
    expect(t.log.requests).toHaveLength(1);
    expect(t.log.tried('orders')).toEqual([[t.calls('orders')[0]!.endpoint]]);
    expect(t.log.format()).toMatch(/^#1 GET orders \/orders\/1 -> 200 \(1 attempt\)/);
  });

  it('6. expectDecisions: what was tried, retried and answered', async () => {
    const [a, b] = ['http://10.2.0.1:8080', 'http://10.2.0.2:8080'];
    const service: ServiceOptions = { endpoints: [a!, b!], loadBalancer: 'random', retry: { attempts: 2, retryOn: ['reset'] } };
    // random() is always 0: the random balancer picks the first endpoint it may, so a comes before b.
    const t = mesh({ services: { payments: service, orders: service } }, { random: () => 0 });
    t.endpoint(a).reply(200);
    t.endpoint(b).reply(200);
    t.endpoint(a).failOnce('reset');
    await t.clock.run(t.mesh.request('http://payments/charge').then((r) => r.body.dump()));
    await (await t.mesh.request('http://orders/1')).body.dump();
    t.endpoint(a).failOnce('reset');
    await t.clock.run(t.mesh.request('http://orders/2').then((r) => r.body.dump()));
    expectDecisions(t, 'payments').toEqual([{ tried: [a, b], retries: [{ reason: 'reset' }], status: 200 }]);
    expectDecisions(t, 'orders').toHaveTried([[a], [a, b]]);
    expect(() => expectDecisions(t, 'orders').toHaveTried([[a], [a]])).toThrow();
  });

  it('8. Fake discovery: push, fail, recover, an ignored empty set, a bad entry', async () => {
    // production: { discovery: dnsDiscovery(), services: { orders: {}, payments: { discovery: fileDiscovery('eps.json') } } }
    const t = createTestMesh(productionConfig);
    await t.discovery.push('orders', ['http://10.0.0.3:8080', { address: '10.0.0.4', port: 8080, weight: 2 }]);
    t.discovery.fail('orders', new Error('registry unreachable'));   // discovery-failed: the last good set keeps serving
    t.discovery.recover('orders');                                   // discovery-recovered (the last set is pushed again)
    await t.discovery.push('orders', []);                            // discovery-rejected: an empty set is ignored
    await t.discovery.push('orders', ['not a url', 'http://10.0.0.5:8080']);   // the bad entry alone is rejected
    t.discovery.history;   // push / ignored-empty / fail / recover, with test-clock times
    open.push(t);
    expect(t.discovery.history.map((h) => h.kind)).toEqual(['push', 'fail', 'recover', 'ignored-empty', 'push']);
    expect(t.mesh.snapshot().services.orders!.endpoints.map((e) => e.url)).toEqual(['http://10.0.0.5:8080']);
    expect(t.log.health.filter((h) => h.type === 'discovery-rejected')).toHaveLength(2);
  });

  it('9. Fault injection: for the service, for one endpoint, then off', async () => {
    const t = mesh(productionConfig);
    for (const e of t.endpoints('orders')) e.reply(200, { id: 1 });
    t.faults('orders', { delay: { percent: 20, ms: 1_000 }, abort: { percent: 5, status: 503 } });
    t.endpoint('orders', 2).faults({ abort: { percent: 100, error: 'reset' } });   // one endpoint, overrides
    t.faults('orders', undefined);                                                // off
    t.endpoint('orders', 2).faults(undefined);
    for (let i = 0; i < 20; i++) expect(await getOrder(t.mesh, 1)).toEqual({ id: 1 });
    expect(t.calls('orders').every((c) => c.outcome === '200')).toBe(true);
  });

  it('9. Per-endpoint realism: a latency mix and an error rate', async () => {
    const t = mesh({ services: { orders: { endpoints: ['http://10.1.0.1:8080', 'http://10.1.0.2:8080'], retry: false } } });
    t.endpoint('orders', 1)
      .reply(200)
      .latency([{ ms: 5, weight: 95 }, { ms: 400, weight: 5 }])   // or 25, { min, max }, or (random) => ms
      .errorRate(0.02, 'reset');                                   // or a status: errorRate(0.1, 503)
    t.endpoint('orders', 0).reply(200);
    const one = t.endpoint('orders', 1);
    const results = await t.clock.run(
      Promise.all(Array.from({ length: 400 }, () => t.mesh.request('http://orders/').then((r) => r.body.dump().then(() => 'ok'), () => 'failed'))),
    );
    const resets = one.calls.filter((c) => c.outcome === 'reset').length;
    expect(results.filter((r) => r === 'failed')).toHaveLength(resets);
    expect(resets).toBeGreaterThan(0);
    expect(resets).toBeLessThan(20);
  });

  it('9. A chaos-style test: 500 requests, resets and delays, invariants checked', async () => {
    const t = createTestMesh(productionConfig, { seed: 7 });
    for (const e of t.endpoints('orders')) e.reply(200, { id: 1 }).latency({ min: 5, max: 50 }).errorRate(0.05, 'reset');
    t.faults('orders', { delay: { percent: 10, ms: 2_000 } });
    const all = Array.from({ length: 500 }, () => getOrder(t.mesh, 1).then(() => 'ok', (e) => e.message));
    await t.clock.advance(60_000);
    const results = await Promise.all(all);
    expect(results.filter((r) => r !== 'ok').length).toBeLessThan(5);   // with retries on, resets are absorbed
    expect(t.log.transitions({ service: 'orders' })).toEqual([]);        // and no breaker opened
    open.push(t);
    expect(t.calls('orders').some((c) => c.outcome === 'reset')).toBe(true);
  });
});
