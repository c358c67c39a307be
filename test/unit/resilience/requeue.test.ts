import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type MetricEvent } from '../../../src/index.js';
import { REQUEUE_LIMITS } from '../../../src/resilience/requeue.js';
import { deadPort, manualClock } from '../../helpers/sync-clock.js';
import { startServer } from '../../helpers/servers.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanup.push(() => x.close());
  return x;
}

async function deadUrls(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`http://127.0.0.1:${await deadPort()}`);
  return out;
}

/** The request's attempt, retry and request events as `type endpoint/reason`, in order. */
function sequence(events: MetricEvent[], names: Map<string, string>): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.type === 'attempt') out.push(`attempt ${names.get(e.endpoint ?? '') ?? e.endpoint} ${e.status ?? e.error ?? ''}`.trim());
    else if (e.type === 'retry') out.push(`retry ${e.reason} ${e.attempt}`);
    else if (e.type === 'retry-refused') out.push(`retry-refused ${e.reason}`);
    else if (e.type === 'request') out.push(`request ${e.status ?? e.error ?? ''}`.trim());
  }
  return out;
}

/** Splits a sequence into requests (each ends with its `request` event). */
function perRequest(seq: string[]): string[][] {
  const out: string[][] = [[]];
  for (const x of seq) {
    out.at(-1)!.push(x);
    if (x.startsWith('request')) out.push([]);
  }
  return out.filter((c) => c.length > 0);
}

describe('requeues (connect failures resent to another endpoint)', () => {
  it('resends a POST with a string body to the untried endpoint when the first refuses the connect, with retry: false, and leaves the retry budget alone', async () => {
    const live = track(await startServer('live'));
    const [dead] = await deadUrls(1);
    const clock = manualClock();
    const events: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        clock,
        services: {
          // Round robin starting at the dead endpoint: every other request meets it first.
          pay: { endpoints: [dead!, live.url], loadBalancer: 'round-robin', retry: false, outlierDetection: false, circuitBreaker: false },
        },
      }),
    );
    mesh.on('metric', (e) => events.push(e));
    const names = new Map([
      [dead!, 'dead'],
      [live.url, 'live'],
    ]);
    for (let i = 0; i < 4; i++) {
      const res = await mesh.request('http://pay/charge', { method: 'POST', body: `amount=${i}` });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    // Each POST reached the live endpoint exactly once.
    expect(live.requests.map((r) => `${r.method} ${r.body}`)).toEqual(['POST amount=0', 'POST amount=1', 'POST amount=2', 'POST amount=3']);
    const chunks = perRequest(sequence(events, names));
    const requeued = ['attempt dead ECONNREFUSED', 'retry requeue 1', 'attempt live 200', 'request 200'];
    const direct = ['attempt live 200', 'request 200'];
    for (const c of chunks) expect([requeued, direct]).toContainEqual(c);
    const requeues = chunks.filter((c) => c.length === requeued.length).length;
    expect(requeues).toBeGreaterThan(0);
    const snap = mesh.snapshot().services.pay!.resilience as { requeueBudget: { withdrawn: number }; retryBudget?: unknown };
    expect(snap.requeueBudget.withdrawn).toBe(requeues);
    expect(snap.retryBudget).toBeUndefined(); // retry: false has no budget, and the requeues needed none
  });

  it('does not withdraw from the retry budget nor count toward retry.attempts', async () => {
    const live = track(await startServer('live'));
    const dead = await deadUrls(2);
    const clock = manualClock();
    const events: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        clock,
        services: {
          s: {
            endpoints: [...dead, live.url],
            loadBalancer: 'round-robin',
            retry: { attempts: 1 },
            outlierDetection: false,
            circuitBreaker: false,
          },
        },
      }),
    );
    mesh.on('metric', (e) => events.push(e));
    for (let i = 0; i < 3; i++) {
      const res = await mesh.request('http://s/x');
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    const snap = mesh.snapshot().services.s!.resilience as {
      requeueBudget: { withdrawn: number };
      retryBudget: { withdrawn: number; exhausted: number };
    };
    expect(snap.retryBudget).toMatchObject({ withdrawn: 0, exhausted: 0 });
    const reasons = events.filter((e) => e.type === 'retry').map((e) => (e as { reason: string }).reason);
    expect(reasons.length).toBeGreaterThan(0);
    expect(new Set(reasons)).toEqual(new Set(['requeue']));
    expect(snap.requeueBudget.withdrawn).toBe(reasons.length);
    // attempts: 1 allows no retry, yet each request reached the live endpoint; never the same dead one twice.
    for (const c of perRequest(sequence(events, new Map()))) {
      const tried = c.filter((x) => x.startsWith('attempt')).map((x) => x.split(' ')[1]);
      expect(new Set(tried).size).toBe(tried.length);
      expect(c.at(-1)).toBe('request 200');
    }
  });

  it('never resends a non-replayable (stream) body', async () => {
    const [dead] = await deadUrls(1);
    const live = track(await startServer('live'));
    const events: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        clock: manualClock(),
        services: { s: { endpoints: [dead!, live.url], loadBalancer: 'round-robin', outlierDetection: false, circuitBreaker: false } },
      }),
    );
    mesh.on('metric', (e) => events.push(e));
    const names = new Map([
      [dead!, 'dead'],
      [live.url, 'live'],
    ]);
    const results: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await mesh
        .request('http://s/upload', { method: 'PUT', body: Readable.from(['a', 'b']) })
        .then(async (res) => `${res.statusCode} ${await res.body.text()}`)
        .catch((e: unknown) => (isMeshError(e) ? e.code : String(e)));
      results.push(r);
    }
    expect(results.sort()).toEqual(['200 live', 'MESH_UPSTREAM_FAILURE'].sort());
    const seq = sequence(events, names).filter((x) => x.startsWith('attempt dead') || x.startsWith('retry'));
    expect(seq).toEqual(['attempt dead ECONNREFUSED', 'retry-refused body-not-replayable']);
    expect(live.requests).toHaveLength(1);
  });

  it('makes at most REQUEUE_LIMITS.maxPerRequest requeues per request', async () => {
    const dead = await deadUrls(REQUEUE_LIMITS.maxPerRequest + 2);
    const events: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        clock: manualClock(),
        services: { s: { endpoints: dead, retry: false, outlierDetection: false, circuitBreaker: false } },
      }),
    );
    mesh.on('metric', (e) => events.push(e));
    const err = await mesh.request('http://s/x').catch((e: unknown) => e);
    expect(isMeshError(err) && err.code).toBe('MESH_UPSTREAM_FAILURE');
    const seq = events.filter((e) => e.type === 'attempt' || e.type === 'retry').map((e) => e.type);
    expect(seq).toEqual(['attempt', 'retry', 'attempt', 'retry', 'attempt', 'retry', 'attempt']);
    // Every attempt went to a different endpoint.
    const endpoints = events.flatMap((e) => (e.type === 'attempt' ? [e.endpoint] : []));
    expect(new Set(endpoints).size).toBe(endpoints.length);
  });

  it('bounds requeues per service by the requeue budget (percentage of requests plus a floor)', async () => {
    const dead = await deadUrls(4);
    let requeues = 0;
    const mesh = track(
      new MeshClient({
        clock: manualClock(), // time stands still: the floor does not refill
        services: { s: { endpoints: dead, retry: false, outlierDetection: false, circuitBreaker: false } },
      }),
    );
    mesh.on('metric', (e) => {
      if (e.type === 'retry' && e.reason === 'requeue') requeues++;
    });
    const n = 20;
    for (let i = 0; i < n; i++) await mesh.request('http://s/x').catch(() => undefined);
    const bound = (REQUEUE_LIMITS.percent / 100) * n + REQUEUE_LIMITS.minPerSecond;
    expect(requeues).toBe(bound); // well under n × maxPerRequest = 60
  });
});
