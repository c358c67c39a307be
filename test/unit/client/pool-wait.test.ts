import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type HealthEvent, type MetricEvent } from '../../../src/index.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

/**
 * Time queued for a pooled connection is not the endpoint's fault: the
 * measured storm (1,000 concurrent calls, 3 healthy endpoints, perTryMs 300:
 * 955 MESH_TIMEOUT, circuit-open, panic), scaled down by counts: one
 * connection per endpoint, each answer 40 ms, 90 concurrent calls, perTryMs
 * 300. Each endpoint serves about 7 calls within a try's deadline; the rest
 * wait in its pool's queue until their per-try deadline.
 */
describe('a per-try deadline that expires while queued for a connection', () => {
  let servers: TestServer[];
  let connections = 0;
  beforeAll(async () => {
    // Answers after 40 ms, or after `?ms=` milliseconds.
    servers = await startServers(3, 'ok', (req, res) => {
      setTimeout(() => res.end('ok'), Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 40));
    });
    for (const s of servers) s.server.on('connection', () => connections++);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('fails with MESH_POOL_TIMEOUT and counts against no breaker, detector or balancer: zero opens, ejections, panics', async () => {
    const mesh = new MeshClient({
      services: {
        svc: {
          endpoints: servers.map((s) => s.url),
          connection: { maxConnections: 1 },
          timeout: { perTryMs: 300 },
          retry: { attempts: 3, retryOn: ['connect-failure', 'reset', 'timeout'] },
          circuitBreaker: { consecutiveFailures: 2, service: { consecutiveFailures: 2 } },
          outlierDetection: { consecutiveLocalOriginFailure: 2, maxEjectionPercent: 100 },
        },
      },
    });
    const health: HealthEvent[] = [];
    const metrics: MetricEvent[] = [];
    mesh.on('health', (e) => health.push(e));
    mesh.on('metric', (e) => metrics.push(e));
    const before = connections;
    const results = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        mesh.request(`http://svc/${i}`).then(
          async (r) => `${r.statusCode} ${await r.body.text()}`,
          (e: unknown) => (isMeshError(e) ? e.code : String(e)),
        ),
      ),
    );
    const counts: Record<string, number> = {};
    for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
    // Some were served, the others waited out their deadline in a queue: reported distinctly, never MESH_TIMEOUT.
    expect(Object.keys(counts).sort()).toEqual(['200 ok', 'MESH_POOL_TIMEOUT']);
    expect(counts['200 ok']).toBeGreaterThanOrEqual(servers.length);
    expect(counts['MESH_POOL_TIMEOUT']).toBeGreaterThanOrEqual(30);
    // Not retried: a retry would queue on a pool just as full.
    expect(metrics.filter((e) => e.type === 'retry')).toEqual([]);
    const requests = metrics.filter((e) => e.type === 'request');
    expect(requests.filter((e) => e.outcome === 'failure').map((e) => e.error)).toEqual(
      Array.from({ length: counts['MESH_POOL_TIMEOUT']! }, () => 'MESH_POOL_TIMEOUT'),
    );
    expect(metrics.filter((e) => e.type === 'attempt' && e.error !== undefined).every((e) => e.type === 'attempt' && e.error === 'MESH_POOL_TIMEOUT')).toBe(true);

    expect(health.map((e) => e.type).filter((t) => t !== 'endpoint-added')).toEqual([]);
    const svc = mesh.snapshot().services.svc!;
    expect(svc.endpoints.map((e) => [e.failures, e.circuit, (e.outlier as { ejected?: boolean } | undefined)?.ejected ?? false])).toEqual(
      servers.map(() => [0, 'closed', false]),
    );
    expect(svc.resilience).toMatchObject({ circuit: 'closed', ejected: 0 });
    expect(svc.panic).toBe(false);
    // A try dropped from the queue does not cost the connection it would have used.
    await new Promise((r) => setTimeout(r, 100));
    expect(connections - before).toBe(servers.length);
    // All still serve.
    for (let i = 0; i < 3; i++) expect((await mesh.request('http://svc/after')).statusCode).toBe(200);
    await mesh.close();
  });

  it('measures per-try time from the moment the try is written: a try that waited in the queue still gets perTryMs for its answer', async () => {
    const mesh = new MeshClient({
      services: {
        svc: {
          endpoints: [servers[0]!.url],
          connection: { maxConnections: 1 },
          // 300 ms per answer: the second call waits about 300 ms in the queue, then needs 300 ms more.
          // perTryMs sits between one answer and two (150 ms of room each way, for a loaded machine):
          // counted from the queue, the second call would time out.
          timeout: { perTryMs: 450 },
          retry: false,
        },
      },
    });
    const results = await Promise.all(
      [0, 1].map((i) =>
        mesh.request(`http://svc/${i}?ms=300`).then(
          (r) => r.statusCode,
          (e: unknown) => (isMeshError(e) ? e.code : String(e)),
        ),
      ),
    );
    expect(results).toEqual([200, 200]);
    await mesh.close();
  });
});
