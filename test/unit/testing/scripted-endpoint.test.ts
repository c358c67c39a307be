import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTestMesh, expectCalls, type TestMesh } from '../../../src/testing/index.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';

function oneEndpoint(): TestMesh {
  return createTestMesh({ services: { orders: { endpoints: [A], retry: false } } });
}

/** The outcome of one request as a short string: status and body, or the error code and its cause's code. */
async function outcome(t: TestMesh, path = '/x'): Promise<string> {
  try {
    const r = await t.mesh.request(`http://orders${path}`);
    return `${r.statusCode} ${await r.body.text()}`;
  } catch (e) {
    const err = e as { code?: string; cause?: { code?: string } };
    return `${err.code} ${err.cause?.code}`;
  }
}

describe('scripted endpoints', () => {
  it('replies with status, body (objects as JSON) and headers', async () => {
    const t = oneEndpoint();
    t.endpoint('orders', 0).reply(201, { id: 42 }, { headers: { 'X-Version': 'v2' } });
    const res = await t.mesh.fetch('http://orders/orders/42');
    expect([res.status, res.headers.get('x-version'), res.headers.get('content-type'), await res.json()]).toEqual([
      201,
      'v2',
      'application/json',
      { id: 42 },
    ]);
    await t.close();
  });

  it('fails the way a network does: connect-refused, connect-timeout, reset, timeout, or a given error', async () => {
    const t = oneEndpoint();
    const ep = t.endpoint(A);
    const seen: string[] = [];
    for (const kind of ['connect-refused', 'connect-timeout', 'reset', 'timeout'] as const) {
      ep.fail(kind);
      seen.push(await outcome(t));
    }
    ep.fail(Object.assign(new Error('tls handshake'), { code: 'EPROTO' }));
    seen.push(await outcome(t));
    expect(seen).toEqual([
      'MESH_UPSTREAM_FAILURE ECONNREFUSED',
      'MESH_UPSTREAM_FAILURE UND_ERR_CONNECT_TIMEOUT',
      'MESH_UPSTREAM_FAILURE ECONNRESET',
      'MESH_UPSTREAM_FAILURE UND_ERR_HEADERS_TIMEOUT',
      'MESH_UPSTREAM_FAILURE EPROTO',
    ]);
    expect(t.calls().map((c) => c.outcome)).toEqual(['connect-refused', 'connect-timeout', 'reset', 'timeout', 'Error']);
    await t.close();
  });

  it('one-off steps come first, then the standing behaviour; the script can change mid-test', async () => {
    const t = oneEndpoint();
    const ep = t.endpoint('orders', 0).failOnce('reset').replyOnce(503).reply(200, 'ok');
    const seen = [await outcome(t), await outcome(t), await outcome(t), await outcome(t)];
    ep.reply(500, 'now broken');
    seen.push(await outcome(t));
    ep.queue(204, 'connect-refused');
    seen.push(await outcome(t), await outcome(t), await outcome(t));
    expect(seen).toEqual([
      'MESH_UPSTREAM_FAILURE ECONNRESET',
      '503 ',
      '200 ok',
      '200 ok',
      '500 now broken',
      '204 ',
      'MESH_UPSTREAM_FAILURE ECONNREFUSED',
      '500 now broken',
    ]);
    await t.close();
  });

  it('delays run on the test clock: nothing arrives before the time, everything at it', async () => {
    const t = oneEndpoint();
    t.endpoint('orders', 0).delay(100).reply(200, 'late', { delayMs: 50 });
    let settled = false;
    const p = outcome(t).finally(() => (settled = true));
    await t.clock.advance(149);
    expect(settled).toBe(false);
    await t.clock.advance(1);
    expect(await p).toBe('200 late');
    expect(t.log.requests.map((r) => r.attempts.map((a) => a.durationMs))).toEqual([[150]]);
    await t.close();
  });

  it('hang never answers until the caller aborts; the call is recorded as aborted', async () => {
    const t = oneEndpoint();
    t.endpoint('orders', 0).hang();
    const ac = new AbortController();
    const p = t.mesh.fetch('http://orders/x', { signal: ac.signal }).catch((e: Error) => e.name);
    await t.clock.advance(60_000);
    ac.abort();
    expect(await p).toBe('AbortError');
    expect(t.calls().map((c) => c.outcome)).toEqual(['aborted']);
    await t.close();
  });

  it('flaps by call count and by test time', async () => {
    const t = oneEndpoint();
    t.endpoint('orders', 0).flap({ up: 200, down: 503, every: 2 });
    const byCalls: string[] = [];
    for (let i = 0; i < 6; i++) byCalls.push(await outcome(t));
    t.endpoint('orders', 0).flap({ everyMs: 1000 });
    const byTime: string[] = [];
    for (let i = 0; i < 4; i++) {
      byTime.push(await outcome(t));
      await t.clock.advance(500);
    }
    expect(byCalls).toEqual(['200 ', '200 ', '503 ', '503 ', '200 ', '200 ']);
    expect(byTime).toEqual(['200 ', '200 ', 'MESH_UPSTREAM_FAILURE ECONNREFUSED', 'MESH_UPSTREAM_FAILURE ECONNREFUSED']);
    await t.close();
  });

  it('error rate and latency distribution are seeded: close to the asked shares, identical across runs', async () => {
    const run = async (seed: number) => {
      const t = createTestMesh({ services: { orders: { endpoints: [A], retry: false } } }, { seed });
      t.endpoint('orders', 0)
        .reply(200)
        .errorRate(0.2)
        .latency([
          { ms: 10, weight: 90 },
          { ms: 500, weight: 10 },
        ]);
      const statuses = new Map<string, number>();
      const all = Array.from({ length: 1000 }, () => outcome(t));
      await t.clock.advance(500);
      for (const o of await Promise.all(all)) statuses.set(o, (statuses.get(o) ?? 0) + 1);
      const durations = t.log.requests.map((r) => r.attempts[0]!.durationMs);
      await t.close();
      return { statuses: Object.fromEntries(statuses), slow: durations.filter((d) => d === 500).length, fast: durations.filter((d) => d === 10).length };
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(first.fast + first.slow).toBe(1000);
    expect(Math.abs(first.slow - 100)).toBeLessThanOrEqual(30);
    expect(Math.abs((first.statuses['503 '] ?? 0) - 200)).toBeLessThanOrEqual(40);
    expect((first.statuses['503 '] ?? 0) + (first.statuses['200 '] ?? 0)).toBe(1000);
    expect(await run(8)).not.toEqual(first);
  });

  it('handle() scripts by request; calls record method, path, headers and body of every kind', async () => {
    const t = oneEndpoint();
    t.endpoint('orders', 0).handle((call) => (call.path.startsWith('/missing') ? 404 : { status: 200, body: `echo ${call.body ?? ''}` }));
    const texts: string[] = [];
    for (const body of ['text', Buffer.from('bytes'), Readable.from(['str', 'eam'])]) {
      const r = await t.mesh.request('http://orders/orders?x=1', { method: 'POST', body, headers: { 'X-Trace': 'abc' } });
      texts.push(await r.body.text());
    }
    texts.push(await outcome(t, '/missing/1'));
    const f = await t.mesh.fetch('http://orders/f', { method: 'PUT', body: JSON.stringify({ a: 1 }) });
    texts.push(await f.text());
    expect(texts).toEqual(['echo text', 'echo bytes', 'echo stream', '404 ', 'echo {"a":1}']);
    expectCalls(t, 'orders').toEqual([
      { method: 'POST', path: '/orders?x=1', body: 'text', headers: { 'x-trace': 'abc', host: 'orders' } },
      { method: 'POST', path: '/orders?x=1', body: 'bytes' },
      { method: 'POST', path: '/orders?x=1', body: 'stream' },
      { method: 'GET', path: '/missing/1', body: undefined },
      { method: 'PUT', path: '/f', body: '{"a":1}' },
    ]);
    expect(t.calls().map((c) => c.seq)).toEqual([1, 2, 3, 4, 5]);
    await t.close();
  });

  it('unscripted endpoints and egress hosts pass through to the MockAgent; egress hosts can be scripted too', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: [A, B], retry: false } } });
    t.agent.get(A).intercept({ path: '/m', method: 'GET' }).reply(200, 'from mock agent');
    t.endpoint(B).reply(200, 'scripted');
    t.endpoint('https://api.example.com').reply(202, 'egress scripted');
    const bodies = new Set([await outcome(t, '/m'), await outcome(t, '/m')]);
    const egress = await t.mesh.fetch('https://api.example.com/v1');
    const unmatched = await outcome(t, '/nothing');
    expect([...bodies].sort()).toEqual(['200 from mock agent', '200 scripted']);
    expect([egress.status, await egress.text()]).toEqual([202, 'egress scripted']);
    expect(unmatched).toBe('MESH_UPSTREAM_FAILURE UND_MOCK_ERR_MOCK_NOT_MATCHED');
    expectCalls(t, { endpoint: 'https://api.example.com' }).toEqual([{ service: undefined, path: '/v1', outcome: '202' }]);
    await t.close();
  });

  it('endpoint(service, index) names a missing service or index clearly; a bare name is not a URL', async () => {
    const t = oneEndpoint();
    expect(() => t.endpoint('payments', 0)).toThrow('no service "payments" (services: orders)');
    expect(() => t.endpoint('orders', 3)).toThrow('service "orders" has 1 endpoint(s); there is no index 3');
    expect(() => t.endpoint('orders')).toThrow(`pass its index: endpoint('orders', 0)`);
    expect(t.endpoints('orders').map((e) => e.url)).toEqual([A]);
    await t.close();
  });
});
