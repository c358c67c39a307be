// The proxyless/testing kit outside any test framework: a production config, scripted endpoints,
// a fault, fake discovery and the decision log, all on test time (this script takes no real time
// to "wait" 30 seconds). Run: npx tsx examples/testing-kit.ts
import { createTestMesh, expectCalls, stratifiedRandom } from 'proxyless/testing';

const t = createTestMesh(
  {
    services: {
      orders: {
        endpoints: [
          { url: 'http://10.0.0.1:8080', labels: { version: 'v1' } },
          { url: 'http://10.0.0.2:8080', labels: { version: 'v2' } },
        ],
        routes: [{ split: [{ subset: { version: 'v1' }, weight: 80 }, { subset: { version: 'v2' }, weight: 20 }] }],
      },
    },
  },
  { random: stratifiedRandom(10) },
);

// 1. Script the endpoints: v1 is fast, v2 is slow and sometimes fails.
t.endpoint('orders', 0).reply(200, { version: 'v1' }, { delayMs: 5 });
t.endpoint('orders', 1).reply(200, { version: 'v2' }).latency({ min: 100, max: 300 }).errorRate(0.25, 'reset');

// 2. Chaos: delay a fifth of all calls by 1 s (Istio-style fault injection).
t.faults('orders', { delay: { percent: 20, ms: 1000 } });

const outcomes: Record<string, number> = {};
const requests = Array.from({ length: 50 }, () =>
  t.mesh.fetch('http://orders/orders/1').then(
    async (r) => `${r.status} ${((await r.json()) as { version: string }).version}`,
    (e: { code?: string; cause?: { code?: string } }) => `${e.code} (${e.cause?.code})`,
  ),
);
await t.clock.advance(30_000); // test time: instant
for (const o of await Promise.all(requests)) outcomes[o] = (outcomes[o] ?? 0) + 1;
console.log('outcomes of 50 requests (80/20 split, v2 flaky, 20% delayed):', outcomes);
const slow = t.log.requests.filter((r) => r.attempts.some((a) => a.durationMs >= 1000)).length;
console.log(`requests delayed by the fault: ${slow}`);

// 3. Discovery pushes a new set: v2 is replaced by v3.
await t.discovery.push('orders', [
  { url: 'http://10.0.0.1:8080', labels: { version: 'v1' } },
  { url: 'http://10.0.0.3:8080', labels: { version: 'v2' } },
]);
t.endpoint('http://10.0.0.3:8080').reply(200, { version: 'v2 (new)' });
t.faults('orders', undefined);
t.clearHistory();
// v1 answers after 5 ms of test time: clock.run drives the clock until the request settles.
for (let i = 0; i < 10; i++) await t.clock.run(async () => (await t.mesh.request('http://orders/orders/2')).body.dump());
expectCalls(t, { endpoint: 'http://10.0.0.2:8080' }).toHaveLength(0); // the removed endpoint gets nothing
console.log('after discovery: calls per endpoint', Object.fromEntries(['http://10.0.0.1:8080', 'http://10.0.0.3:8080'].map((u) => [u, t.calls({ endpoint: u }).length])));

// 4. The decision log, readable.
console.log('\nfirst three decisions after the update:\n' + t.log.format().split('\n').filter((l) => l.startsWith('#') || l.startsWith('    ')).slice(0, 6).join('\n'));
await t.close();
