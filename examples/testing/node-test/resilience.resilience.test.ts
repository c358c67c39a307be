// Example: testing the mesh's retries and breakers with node:test;
// run with the other example suites: npm run test:examples-testing
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createTestMesh, expectCalls, expectDecisions, type TestMesh } from 'proxyless/testing';
import { resilientConfig } from '../config.js';

describe('resilience (node:test)', () => {
  let t: TestMesh;
  afterEach(() => t.close());

  it('a retry after a reset hits a second endpoint', async () => {
    t = createTestMesh(resilientConfig);
    let calls = 0;
    for (const e of t.endpoints('payments')) e.handle(() => (++calls === 1 ? 'reset' : { status: 200, body: 'paid' }));
    const res = await t.clock.run(t.mesh.request('http://payments/charge')); // backoff passes on the test clock
    assert.deepEqual([res.statusCode, await res.body.text()], [200, 'paid']);
    const [first, second] = t.calls('payments');
    assert.notEqual(first!.endpoint, second!.endpoint);
    expectDecisions(t, 'payments').toEqual([{ tried: [first!.endpoint, second!.endpoint], retries: [{ reason: 'reset' }], status: 200 }]);
  });

  it('a breaker opens after 5 failures and half-opens after the configured time, without real waiting', async () => {
    t = createTestMesh(resilientConfig);
    const ledger = t.endpoint('ledger', 0).fail('connect-refused');
    for (let i = 0; i < 5; i++) await assert.rejects(t.mesh.request('http://ledger/'), { code: 'MESH_UPSTREAM_FAILURE' });
    assert.deepEqual(t.log.transitions({ service: 'ledger' }).map((h) => h.type), ['circuit-open']);
    // Open: refused without reaching the endpoint.
    await assert.rejects(t.mesh.request('http://ledger/'), (e: { code?: string }) => /MESH_CIRCUIT_OPEN|MESH_NO_HEALTHY_ENDPOINT/.test(e.code ?? ''));
    expectCalls(t, 'ledger').toHaveLength(5);

    ledger.reply(200, 'ok');
    await t.clock.advance(10_000);
    const res = await t.mesh.request('http://ledger/');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      t.log.transitions({ service: 'ledger' }).map((h) => [h.type, h.time]),
      [
        ['circuit-open', 0],
        ['circuit-half-open', 10_000],
        ['circuit-closed', 10_000],
      ],
    );
  });
});
