import { describe, expect, it } from 'vitest';
import type { HealthEvent, MetricEvent } from '../../../src/index.js';
import { DecisionLog, createTestMesh, expectDecisions } from '../../../src/testing/index.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';

describe('decision log from a real mesh', () => {
  it('records each request with its attempts, path, outcome and timing; concurrent requests stay apart', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: [A, B], retry: false } } });
    t.endpoint(A).reply(200, 'a', { delayMs: 30 });
    t.endpoint(B).fail('reset', { delayMs: 10 });
    const results = await Promise.all([
      t.mesh.request('http://orders/one').then((r) => r.statusCode, (e: { code: string }) => e.code),
      t.mesh.request('http://orders/two').then((r) => r.statusCode, (e: { code: string }) => e.code),
      t.clock.advance(30),
    ]);
    expect(results.slice(0, 2).sort()).toEqual([200, 'MESH_UPSTREAM_FAILURE']);
    const byPath = Object.fromEntries(t.log.requests.map((r) => [r.path, r]));
    expect(byPath['/one']?.tried.concat(byPath['/two']?.tried ?? []).sort()).toEqual([A, B]);
    const failed = t.log.requests.find((r) => r.error)!;
    expect(failed).toMatchObject({
      service: 'orders',
      method: 'GET',
      attempts: [{ attempt: 0, endpoint: B, error: 'ECONNRESET', durationMs: 10 }],
      error: 'MESH_UPSTREAM_FAILURE',
      pending: false,
    });
    expect(t.log.requests.every((r) => !r.pending)).toBe(true);
    expect(t.log.format()).toMatch(/#\d GET orders \/(one|two) -> error MESH_UPSTREAM_FAILURE \(1 attempt\)\n {4}try 0: http:\/\/10\.0\.0\.2:8080 -> ECONNRESET in 10 ms/);
    await t.close();
  });

  it('groups 40 concurrent retried requests exactly (events carry a request id), with refused retries', async () => {
    const t = createTestMesh(
      {
        services: {
          orders: {
            endpoints: [A, B],
            loadBalancer: 'random',
            retry: { attempts: 2, retryOn: ['reset'], backoff: { baseMs: 5, maxMs: 5 }, budget: false },
            outlierDetection: false,
            circuitBreaker: false,
          },
        },
      },
      { seed: 3 },
    );
    t.endpoint(A).fail('reset', { delayMs: 7 });
    t.endpoint(B).reply(200, 'b', { delayMs: 3 });
    const calls = Array.from({ length: 40 }, (_, i) =>
      t.mesh.request(`http://orders/r${i}`).then((r) => r.statusCode, (e: { code: string }) => e.code),
    );
    const results = await t.clock.run(Promise.all(calls));
    expect(results.filter((r) => r !== 200)).toEqual([]);
    expect(t.log.requests).toHaveLength(40);
    for (const r of t.log.requests) {
      // Either B answered at once, or A reset, a retry was scheduled and B answered it.
      if (r.tried[0] === B) expect([r.tried, r.retries.length]).toEqual([[B], 0]);
      else expect([r.tried, r.attempts.map((a) => a.attempt), r.retries.map((x) => x.reason)]).toEqual([[A, B], [0, 1], ['reset']]);
      expect(r.status).toBe(200);
    }
    expect(t.log.requests.some((r) => r.tried[0] === A) && t.log.requests.some((r) => r.tried[0] === B)).toBe(true);
    // A POST is not retried: the refusal is in the log with its reason.
    t.endpoint(B).fail('reset', { delayMs: 3 });
    await t.clock.run(t.mesh.request('http://orders/pay', { method: 'POST', body: 'x' }).catch(() => undefined));
    expect(t.log.requests.at(-1)!.refusals).toEqual(['retry-refused: non-idempotent']);
    await t.close();
  });

  it('records refusals before any attempt (unknown service with egress deny, no endpoint)', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: [] } }, egress: 'deny' });
    await expect(t.mesh.request('http://orders/')).rejects.toMatchObject({ code: 'MESH_NO_HEALTHY_ENDPOINT' });
    await expect(t.mesh.request('http://payments/')).rejects.toMatchObject({ code: 'MESH_UNKNOWN_SERVICE' });
    expectDecisions(t).toEqual([
      { service: 'orders', attempts: [], error: 'MESH_NO_HEALTHY_ENDPOINT' },
      { service: 'payments', attempts: [], error: 'MESH_UNKNOWN_SERVICE' },
    ]);
    await t.close();
  });
});

/** Feeds events to a log as a mesh with retries and breakers emits them (their code lands separately). */
function feed(log: DecisionLog, events: (MetricEvent | HealthEvent)[]): void {
  for (const e of events) {
    if ('method' in e || e.type === 'retry' || e.type === 'retry-budget-exhausted' || e.type === 'hedge' || e.type === 'rejected') {
      log.observer.onMetric?.(e as MetricEvent);
    } else log.observer.onHealth?.(e as HealthEvent);
  }
}

describe('decision log from resilience events', () => {
  const base = { service: 'orders', time: 0 };

  it('groups retries, budget refusals and breaker transitions with the requests they belong to', () => {
    let now = 0;
    const log = new DecisionLog(() => now);
    feed(log, [
      { ...base, type: 'attempt', endpoint: A, method: 'GET', error: 'ECONNRESET', durationMs: 1, attempt: 0 },
      { ...base, type: 'retry', reason: 'reset', delayMs: 25, attempt: 1 },
      { ...base, type: 'attempt', endpoint: B, method: 'GET', status: 200, durationMs: 2, attempt: 1 },
      { ...base, type: 'request', outcome: 'success', endpoint: B, method: 'GET', status: 200, durationMs: 28, attempts: 2 },
      { ...base, type: 'attempt', endpoint: A, method: 'GET', status: 503, durationMs: 1, attempt: 0 },
      { ...base, type: 'retry-budget-exhausted' },
      { ...base, type: 'request', outcome: 'server_error', endpoint: A, method: 'GET', status: 503, durationMs: 1, attempts: 1 },
      { ...base, type: 'circuit-open', endpoint: A, reason: '5 consecutive failures' },
      { ...base, type: 'rejected', reason: 'MESH_CIRCUIT_OPEN' },
      { ...base, type: 'request', outcome: 'failure', method: 'GET', error: 'MESH_CIRCUIT_OPEN', durationMs: 0, attempts: 0 },
    ]);
    now = 10_000;
    feed(log, [{ ...base, type: 'circuit-half-open', endpoint: A }]);
    expectDecisions(log).toEqual([
      { tried: [A, B], retries: [{ attempt: 1, reason: 'reset', delayMs: 25 }], status: 200, refusals: [] },
      { tried: [A], retries: [], status: 503, refusals: ['retry-budget-exhausted'] },
      { tried: [], refusals: ['MESH_CIRCUIT_OPEN'], error: 'MESH_CIRCUIT_OPEN' },
    ]);
    expect(log.transitions({ endpoint: A }).map((h) => `${h.time} ${h.type}`)).toEqual(['0 circuit-open', '10000 circuit-half-open']);
    expect(log.format()).toBe(
      [
        '#1 GET orders -> 200 (2 attempts)',
        '    try 0: http://10.0.0.1:8080 -> ECONNRESET in 1 ms',
        '    retry: reset, backoff 25 ms',
        '    try 1: http://10.0.0.2:8080 -> 200 in 2 ms',
        '#2 GET orders -> 503 (1 attempt)',
        '    try 0: http://10.0.0.1:8080 -> 503 in 1 ms',
        '    refused: retry-budget-exhausted',
        '#3 GET orders -> error MESH_CIRCUIT_OPEN (0 attempts)',
        '    refused: MESH_CIRCUIT_OPEN',
        '@0 ms circuit-open orders http://10.0.0.1:8080 (5 consecutive failures)',
        '@10000 ms circuit-half-open orders http://10.0.0.1:8080',
      ].join('\n'),
    );
  });

  it('uses a requestId on events when the mesh provides one (interleaved requests, hedges)', () => {
    const log = new DecisionLog(() => 0);
    const ev = (requestId: number, e: Record<string, unknown>) => ({ ...base, requestId, ...e }) as unknown as MetricEvent;
    feed(log, [
      ev(1, { type: 'attempt', endpoint: A, method: 'GET', error: 'ECONNRESET', durationMs: 1, attempt: 0 }),
      ev(2, { type: 'attempt', endpoint: B, method: 'GET', status: 200, durationMs: 1, attempt: 0 }),
      ev(1, { type: 'hedge', endpoint: B }),
      ev(1, { type: 'attempt', endpoint: B, method: 'GET', status: 200, durationMs: 1, attempt: 1 }),
      ev(2, { type: 'request', outcome: 'success', endpoint: B, method: 'GET', status: 200, durationMs: 1, attempts: 1 }),
      ev(1, { type: 'request', outcome: 'success', endpoint: B, method: 'GET', status: 200, durationMs: 2, attempts: 2 }),
    ]);
    expect(log.tried()).toEqual([[A, B], [B]]);
    expect(log.requests.map((r) => r.hedges)).toEqual([[B], []]);
    log.clear();
    expect([log.requests.length, log.health.length, log.timeline.length]).toEqual([0, 0, 0]);
  });
});

describe('decision log ordering tolerance', () => {
  it('attaches a retry announced before the failed attempt’s own event to the same request', () => {
    const log = new DecisionLog(() => 0);
    const base = { service: 'orders', time: 0 };
    log.observer.onMetric?.({ ...base, type: 'attempt', endpoint: A, method: 'GET', status: 503, durationMs: 1, attempt: 0 });
    log.observer.onMetric?.({ ...base, type: 'retry', reason: '5xx', delayMs: 10, attempt: 2 });
    log.observer.onMetric?.({ ...base, type: 'attempt', endpoint: B, method: 'GET', status: 503, durationMs: 1, attempt: 1 });
    log.observer.onMetric?.({ ...base, type: 'attempt', endpoint: A, method: 'GET', status: 200, durationMs: 1, attempt: 2 });
    log.observer.onMetric?.({ ...base, type: 'request', outcome: 'success', endpoint: A, method: 'GET', status: 200, durationMs: 13, attempts: 3 });
    expect(log.requests.map((r) => [r.tried, r.retries.map((t) => t.attempt), r.status])).toEqual([[[A, B, A], [2], 200]]);
  });
});

describe('decision log of a cancelled request', () => {
  it('records the cancel, not a failure, and says so in its text', () => {
    const log = new DecisionLog(() => 0);
    const base = { service: 'orders', time: 0 };
    log.observer.onMetric?.({ ...base, requestId: 1, type: 'attempt', endpoint: A, method: 'GET', status: 200, durationMs: 1, attempt: 0 });
    log.observer.onMetric?.({ ...base, requestId: 1, type: 'request', outcome: 'cancelled', endpoint: A, method: 'GET', status: 200, durationMs: 5, attempts: 1 });
    log.observer.onMetric?.({ ...base, requestId: 2, type: 'request', outcome: 'cancelled', method: 'GET', durationMs: 5, attempts: 1 });
    expect(log.requests.map((r) => [r.cancelled, r.status, r.error])).toEqual([
      [true, 200, undefined],
      [true, undefined, undefined],
    ]);
    expect(log.format()).toContain('-> cancelled after 200 (1 attempt)');
    expect(log.format()).toContain('-> cancelled (0 attempts)');
  });
});
