import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type MetricEvent } from '../../../src/index.js';
import type { Socket } from 'node:net';
import { startServer, type TestHandler, type TestServer } from '../../helpers/servers.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});
function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanup.push(() => x.close());
  return x;
}

/** Sockets that carried a request and are still open (undici may open a fresh idle one after an abort: not counted). */
const used = new Map<TestServer, Set<Socket>>();
function hold(): TestHandler {
  return (req) => {
    for (const [server, set] of used) if (server.server === (req.socket as Socket & { server?: unknown }).server) set.add(req.socket);
  };
}
async function connections(server: TestServer): Promise<number> {
  return [...(used.get(server) ?? [])].filter((s) => !s.destroyed).length;
}
async function hungServer(): Promise<TestServer> {
  // Answers /warm (so a connection is open before the test), hangs on everything else.
  const server = track(
    await startServer('hung', (req, res) => {
      if (req.url === '/warm') res.end('warm');
      else hold()(req, res, '');
    }),
  );
  used.set(server, new Set());
  return server;
}

async function settles(fn: () => Promise<boolean>, ms = 1000): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return fn();
}

describe('deadlines', () => {
  it('fails a hung endpoint with MESH_TIMEOUT in under 350 ms (perTryMs 100, totalMs 300) and frees the socket', async () => {
    const hung = await hungServer();
    const events: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        services: { slow: { endpoints: [hung.url], timeout: { perTryMs: 100, totalMs: 300 }, outlierDetection: false } },
      }),
    );
    await (await mesh.request('http://slow/warm', { mesh: { timeout: false } })).body.text();
    mesh.on('metric', (e) => events.push(e));
    // Event-loop stalls (two cores shared with other test runs) are measured and allowed for: not the mesh's doing.
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const started = performance.now();
    const error = await mesh.request('http://slow/x').catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    loop.disable();
    const stalls = loop.max / 1e6;
    expect(isMeshError(error, 'MESH_TIMEOUT')).toBe(true);
    expect(elapsed).toBeLessThan(350 + stalls);
    // At least two tries expired (100 ms each); a retry whose backoff would end past 300 ms is not started.
    expect(elapsed).toBeGreaterThanOrEqual(195);
    // Per-try timeouts were retried (retryOn includes 'timeout'); how many fit before 300 ms depends on the jitter.
    const reasons = events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.reason);
    expect(reasons.length).toBeGreaterThanOrEqual(1);
    expect(reasons.every((r) => r === 'timeout')).toBe(true);
    // Tries that reached the server (the last one may be aborted before the server saw it on a loaded machine).
    const tries = hung.requests.filter((r) => r.url === '/x').length;
    expect(tries).toBeGreaterThanOrEqual(1);
    expect(tries).toBeLessThanOrEqual(reasons.length + 1);
    expect(used.get(hung)!.size).toBeGreaterThanOrEqual(1);
    expect(await settles(async () => (await connections(hung)) === 0)).toBe(true);
  });

  it('per-try timeout alone fails with MESH_TIMEOUT after the last try', async () => {
    const hung = await hungServer();
    const mesh = track(
      new MeshClient({
        services: { slow: { endpoints: [hung.url], timeout: { perTryMs: 100 }, retry: { attempts: 2, backoff: false } } },
      }),
    );
    await (await mesh.request('http://slow/warm', { mesh: { timeout: false } })).body.text();
    const error = await mesh.request('http://slow/x').catch((e: unknown) => e);
    expect(isMeshError(error, 'MESH_TIMEOUT')).toBe(true);
    expect((error as { attempts: number }).attempts).toBe(2);
    expect(await settles(async () => (await connections(hung)) === 0)).toBe(true);
    const tries = hung.requests.filter((r) => r.url === '/x').length;
    expect(tries).toBeGreaterThanOrEqual(1);
    expect(tries).toBeLessThanOrEqual(2);
    expect(used.get(hung)!.size).toBeGreaterThanOrEqual(1);
  });

  it("the caller's AbortSignal cancels a request waiting in backoff", async () => {
    const server = track(
      await startServer('busy', (_req, res) => {
        res.statusCode = 503;
        res.end();
      }),
    );
    const mesh = track(
      new MeshClient({
        random: () => 0.99,
        services: { s: { endpoints: [server.url], retry: { backoff: { baseMs: 5000, maxMs: 5000 } }, outlierDetection: false } },
      }),
    );
    const started = performance.now();
    const error = await mesh.request('http://s/x', { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    expect((error as Error).name).toMatch(/AbortError|TimeoutError/);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(server.requests).toHaveLength(1);
  });

  it('does not start a backoff that would outlive the total deadline: the last response is returned', async () => {
    const server = track(
      await startServer('busy', (_req, res) => {
        res.statusCode = 503;
        res.end('busy');
      }),
    );
    const mesh = track(
      new MeshClient({
        random: () => 0.99,
        services: {
          s: { endpoints: [server.url], retry: { backoff: { baseMs: 1000, maxMs: 1000 } }, timeout: { totalMs: 500 }, outlierDetection: false },
        },
      }),
    );
    const started = performance.now();
    const res = await mesh.request('http://s/x');
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toBe('busy');
    expect(performance.now() - started).toBeLessThan(400);
    expect(server.requests).toHaveLength(1);
  });

  it('bounds the response body by the total deadline', async () => {
    const server = track(
      await startServer('trickle', (req, res) => {
        hold()(req, res, '');
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part');
      }),
    );
    used.set(server, new Set());
    const mesh = track(new MeshClient({ services: { s: { endpoints: [server.url], timeout: { totalMs: 200 } } } }));
    const res = await mesh.request('http://s/x');
    expect(res.statusCode).toBe(200);
    const error = await res.body.text().catch((e: unknown) => e);
    expect(isMeshError(error, 'MESH_TIMEOUT')).toBe(true);
    expect(await settles(async () => (await connections(server)) === 0)).toBe(true);
  });
});
