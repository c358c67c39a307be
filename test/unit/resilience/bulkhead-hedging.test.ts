import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type MetricEvent } from '../../../src/index.js';
import { seededRandom } from '../../helpers/random.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});
function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanup.push(() => x.close());
  return x;
}

describe('bulkhead', () => {
  it('runs maxConcurrent, queues maxPending, rejects the rest with MESH_BULKHEAD_REJECTED', async () => {
    const held: (() => void)[] = [];
    const server = track(
      await startServer('held', (_req, res) => {
        held.push(() => res.end('done'));
      }),
    );
    const metrics: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({ services: { s: { endpoints: [server.url], bulkhead: { maxConcurrent: 2, maxPending: 1 } } } }),
    );
    mesh.on('metric', (e) => metrics.push(e));
    const calls = [1, 2, 3, 4].map(() =>
      mesh.request('http://s/x').then(
        async (r) => r.body.text(),
        (e: unknown) => (isMeshError(e) ? e.code : String(e)),
      ),
    );
    expect(await calls[3]).toBe('MESH_BULKHEAD_REJECTED');
    expect(metrics.filter((e) => e.type === 'rejected').map((e) => e.type === 'rejected' && e.reason)).toEqual([
      'MESH_BULKHEAD_REJECTED',
    ]);
    while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(mesh.snapshot().services.s!.resilience).toMatchObject({ bulkhead: { active: 2, pending: 1, rejected: 1 } });
    expect(server.requests).toHaveLength(2);
    held.shift()!();
    while (held.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(server.requests).toHaveLength(3);
    for (const release of held.splice(0)) release();
    expect(await Promise.all(calls.slice(0, 3))).toEqual(['done', 'done', 'done']);
    expect(mesh.snapshot().services.s!.resilience).toMatchObject({ bulkhead: { active: 0, pending: 0 } });
  });

  it('a queued request that is aborted leaves the queue', async () => {
    const held: (() => void)[] = [];
    const server = track(await startServer('held', (_req, res) => void held.push(() => res.end('ok'))));
    const mesh = track(new MeshClient({ services: { s: { endpoints: [server.url], bulkhead: { maxConcurrent: 1, maxPending: 1 } } } }));
    const first = mesh.request('http://s/x');
    const controller = new AbortController();
    const queued = mesh.request('http://s/x', { signal: controller.signal }).catch((e: unknown) => (e as Error).name);
    controller.abort();
    expect(await queued).toBe('AbortError');
    expect(mesh.snapshot().services.s!.resilience).toMatchObject({ bulkhead: { active: 1, pending: 0 } });
    while (held.length < 1) await new Promise((r) => setTimeout(r, 5));
    held[0]!();
    expect(await (await first).body.text()).toBe('ok');
    expect(server.requests).toHaveLength(1);
  });
});

describe('hedging', () => {
  async function slowAndFast(): Promise<{ slow: TestServer; fast: TestServer; closedEarly: () => number }> {
    let early = 0;
    const slow = track(
      await startServer('slow', (_req, res) => {
        const t = setTimeout(() => res.end('slow'), 1000);
        res.on('close', () => {
          if (!res.writableEnded) early++;
          clearTimeout(t);
        });
      }),
    );
    const fast = track(await startServer('fast'));
    return { slow, fast, closedEarly: () => early };
  }

  it('sends a backup to another endpoint after delayMs; the first response wins and the loser is aborted', async () => {
    const { slow, fast, closedEarly } = await slowAndFast();
    const metrics: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        random: seededRandom(10),
        services: { s: { endpoints: [slow.url, fast.url], hedge: { delayMs: 30 }, outlierDetection: false } },
      }),
    );
    mesh.on('metric', (e) => metrics.push(e));
    const bodies: string[] = [];
    // 'slow' answers after 1 s: every answer being 'fast' shows the hedge won each time.
    for (let i = 0; i < 6; i++) bodies.push(await (await mesh.request('http://s/x')).body.text());
    expect(bodies.every((b) => b === 'fast')).toBe(true);
    const hedges = metrics.filter((e) => e.type === 'hedge');
    expect(hedges.length).toBe(slow.requests.length);
    expect(hedges.every((e) => e.type === 'hedge' && e.endpoint === fast.url)).toBe(true);
    expect(hedges.length).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 100 && closedEarly() < slow.requests.length; i++) await new Promise((r) => setTimeout(r, 10));
    expect(closedEarly()).toBe(slow.requests.length);
    const budget = mesh.snapshot().services.s!.resilience.retryBudget as { withdrawn: number };
    expect(budget.withdrawn).toBe(hedges.length);
  });

  it('never hedges a non-idempotent request', async () => {
    const { slow, fast } = await slowAndFast();
    const mesh = track(
      new MeshClient({ services: { s: { endpoints: [slow.url, fast.url], hedge: { delayMs: 10 }, outlierDetection: false } } }),
    );
    const metrics: MetricEvent[] = [];
    mesh.on('metric', (e) => metrics.push(e));
    const bodies = await Promise.all(
      [0, 1].map(async () => (await mesh.request('http://s/x', { method: 'POST', body: 'x' })).body.text()),
    );
    expect(bodies.sort()).toEqual(['fast', 'slow']);
    expect(metrics.filter((e) => e.type === 'hedge')).toHaveLength(0);
    expect(slow.requests.length + fast.requests.length).toBe(2);
  });

  it('hedges at the observed percentile once enough latencies were seen', async () => {
    const { slow, fast } = await slowAndFast();
    const mesh = track(
      new MeshClient({
        random: seededRandom(11),
        services: { s: { endpoints: [fast.url], hedge: { percentile: 95, minSamples: 5 }, outlierDetection: false } },
      }),
    );
    for (let i = 0; i < 5; i++) await (await mesh.request('http://s/x')).body.text();
    await mesh.updateConfig({
      services: { s: { endpoints: [slow.url, fast.url], hedge: { percentile: 95, minSamples: 5 }, outlierDetection: false } },
    });
    const metrics: MetricEvent[] = [];
    mesh.on('metric', (e) => metrics.push(e));
    for (let i = 0; i < 4; i++) expect(await (await mesh.request('http://s/x')).body.text()).toBe('fast');
    expect(metrics.filter((e) => e.type === 'hedge').length).toBeGreaterThanOrEqual(1);
  });
});

describe('bulkhead and deadline', () => {
  it('a queued request whose total deadline expires fails with MESH_TIMEOUT and leaves the queue', async () => {
    const held: (() => void)[] = [];
    const server = track(await startServer('held', (_req, res) => void held.push(() => res.end('ok'))));
    const mesh = track(
      new MeshClient({
        services: { s: { endpoints: [server.url], bulkhead: { maxConcurrent: 1, maxPending: 1 }, timeout: { totalMs: 100 } } },
      }),
    );
    // The first request has no deadline (a per-request override): it holds the only slot.
    const first = mesh.request('http://s/x', { mesh: { timeout: false } });
    const queued = mesh.request('http://s/x').catch((e: unknown) => (isMeshError(e) ? e.code : String(e)));
    expect(await queued).toBe('MESH_TIMEOUT');
    expect(mesh.snapshot().services.s!.resilience).toMatchObject({ bulkhead: { active: 1, pending: 0, rejected: 0 } });
    while (held.length < 1) await new Promise((r) => setTimeout(r, 5));
    for (const release of held) release();
    expect(await (await first).body.text()).toBe('ok');
    expect(server.requests).toHaveLength(1);
    expect(mesh.snapshot().services.s!.resilience).toMatchObject({ bulkhead: { active: 0, pending: 0 } });
  });
});
