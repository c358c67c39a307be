// Example: testing the mesh's retries and breakers with jest (ESM);
// run with the other example suites: npm run test:examples-testing
import { afterEach, describe, expect, it } from '@jest/globals';
import { createTestMesh, expectCalls, expectDecisions, type TestMesh } from 'proxyless/testing';
import { resilientConfig } from '../config.js';

describe('resilience (jest)', () => {
  let t: TestMesh;
  afterEach(() => t.close());

  it('a retry after a reset hits a second endpoint', async () => {
    t = createTestMesh(resilientConfig);
    let calls = 0;
    for (const e of t.endpoints('payments')) e.handle(() => (++calls === 1 ? 'reset' : { status: 200, body: 'paid' }));
    const res = await t.clock.run(t.mesh.request('http://payments/charge')); // backoff passes on the test clock
    expect([res.statusCode, await res.body.text()]).toEqual([200, 'paid']);
    const [first, second] = t.calls('payments');
    expect(first!.endpoint).not.toBe(second!.endpoint);
    expectDecisions(t, 'payments').toEqual([{ tried: [first!.endpoint, second!.endpoint], retries: [{ reason: 'reset' }], status: 200 }]);
  });

  it('a breaker opens after 5 failures and half-opens after the configured time, without real waiting', async () => {
    t = createTestMesh(resilientConfig);
    const ledger = t.endpoint('ledger', 0).fail('connect-refused');
    for (let i = 0; i < 5; i++) await expect(t.mesh.request('http://ledger/')).rejects.toMatchObject({ code: 'MESH_UPSTREAM_FAILURE' });
    expect(t.log.transitions({ service: 'ledger' }).map((h) => h.type)).toEqual(['circuit-open']);
    // Open: refused without reaching the endpoint.
    await expect(t.mesh.request('http://ledger/')).rejects.toMatchObject({ code: expect.stringMatching(/MESH_CIRCUIT_OPEN|MESH_NO_HEALTHY_ENDPOINT/) });
    expectCalls(t, 'ledger').toHaveLength(5);

    ledger.reply(200, 'ok');
    await t.clock.advance(10_000);
    const res = await t.mesh.request('http://ledger/');
    expect(res.statusCode).toBe(200);
    expect(t.log.transitions({ service: 'ledger' }).map((h) => [h.type, h.time])).toEqual([
      ['circuit-open', 0],
      ['circuit-half-open', 10_000],
      ['circuit-closed', 10_000],
    ]);
  });
});
