import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, isMeshError, type MetricEvent } from '../../../src/index.js';
import { deadPort, frozenClock } from '../../helpers/sync-clock.js';
import { seededRandom } from '../../helpers/random.js';
import { startServer, startServers, type TestServer } from '../../helpers/servers.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanup.push(() => x.close());
  return x;
}

async function servers(n: number, handler?: Parameters<typeof startServers>[2]): Promise<TestServer[]> {
  const list = await startServers(n, 's', handler);
  list.forEach(track);
  return list;
}

describe('retries', () => {
  it('loses no GET when 1 of 3 endpoints is killed under 20 concurrent callers', async () => {
    const [a, b, c] = await servers(3);
    const mesh = track(
      new MeshClient({
        random: seededRandom(1),
        services: { orders: { endpoints: [a!.url, b!.url, c!.url], outlierDetection: false } },
      }),
    );
    let errors = 0;
    let ok = 0;
    let killed = false;
    const caller = async (): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        if (!killed && ok >= 150) {
          killed = true;
          await b!.close();
        }
        try {
          const res = await mesh.request('http://orders/x');
          await res.body.text();
          if (res.statusCode === 200) ok++;
          else errors++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, caller));
    expect(killed).toBe(true);
    expect({ ok, errors }).toEqual({ ok: 500, errors: 0 });
  });

  it('sends a POST exactly once to a server that resets after reading it, but tries a GET `attempts` times', async () => {
    const server = track(
      await startServer('reset', (req) => {
        req.socket.destroy();
      }),
    );
    const events: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        random: seededRandom(2),
        services: { pay: { endpoints: [server.url], retry: { attempts: 4 }, outlierDetection: false, circuitBreaker: false } },
      }),
    );
    mesh.on('metric', (e) => events.push(e));
    const post = await mesh.request('http://pay/charge', { method: 'POST', body: 'amount=10' }).catch((e: unknown) => e);
    expect(isMeshError(post)).toBe(true);
    expect((post as { code: string }).code).toBe('MESH_UPSTREAM_FAILURE');
    expect(((post as Error).cause as { code?: string }).code).toMatch(/UND_ERR_SOCKET|ECONNRESET/);
    expect(server.requests.map((r) => `${r.method} ${r.body}`)).toEqual(['POST amount=10']);

    const get = await mesh.request('http://pay/status').catch((e: unknown) => e);
    expect(isMeshError(get)).toBe(true);
    expect((get as { attempts: number }).attempts).toBe(4);
    expect(server.requests.filter((r) => r.method === 'GET')).toHaveLength(4);
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => e.type === 'retry' && [e.reason, e.attempt])).toEqual([
      ['reset', 1],
      ['reset', 2],
      ['reset', 3],
    ]);
    for (const r of retries) if (r.type === 'retry') expect(r.delayMs).toBeLessThan(250);
  });

  it('retries a POST after a connect failure (nothing was sent) and never sends it twice', async () => {
    const alive = track(await startServer('alive'));
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const mesh = track(
      new MeshClient({
        random: seededRandom(3),
        services: { pay: { endpoints: [dead, alive.url], outlierDetection: false, circuitBreaker: false } },
      }),
    );
    for (let i = 0; i < 10; i++) {
      const res = await mesh.request('http://pay/charge', { method: 'POST', body: `n=${i}` });
      expect(await res.body.text()).toBe('alive');
    }
    expect(alive.requests.map((r) => r.body)).toEqual(Array.from({ length: 10 }, (_, i) => `n=${i}`));
  });

  it('sends each retry to an endpoint this request has not tried', async () => {
    const list = await servers(3, (req, res) => {
      if (req.socket.localPort !== list[2]!.port) res.statusCode = 503;
      res.end();
    });
    const mesh = track(
      new MeshClient({
        random: seededRandom(12),
        services: {
          s: {
            endpoints: list.map((s) => s.url),
            loadBalancer: 'random',
            // Two of three endpoints fail: most requests need retries, more than the default budget allows.
            retry: { attempts: 3, backoff: false, budget: { percent: 200 } },
            outlierDetection: false,
          },
        },
      }),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await mesh.request('http://s/x');
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    // Random picks with repeats would fail some requests; untried-first never needs more than 3 tries.
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(list[2]!.requests).toHaveLength(100);
    expect(list[0]!.requests.length + list[1]!.requests.length).toBeGreaterThan(50);
  });

  it('never forwards a retried 5xx body: the caller sees the retry', async () => {
    let n = 0;
    const [server] = await servers(1, (_req, res) => {
      if (n++ === 0) {
        res.statusCode = 503;
        res.end('first try failed');
      } else res.end('second try ok');
    });
    const mesh = track(new MeshClient({ random: seededRandom(4), services: { s: { endpoints: [server!.url] } } }));
    const res = await mesh.request('http://s/x');
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('second try ok');
    expect(server!.requests).toHaveLength(2);
  });

  it('replays a body factory on every try when non-idempotent retries are allowed', async () => {
    const [server] = await servers(1, (_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const mesh = track(
      new MeshClient({
        random: seededRandom(5),
        services: {
          s: {
            endpoints: [server!.url],
            retry: { attempts: 3, retryNonIdempotent: true, retryOn: ['5xx'] },
            outlierDetection: false,
          },
        },
      }),
    );
    let made = 0;
    const res = await mesh.request('http://s/x', { method: 'POST', body: () => `body-${++made}` });
    expect(res.statusCode).toBe(503);
    await res.body.dump();
    expect(server!.requests.map((r) => r.body)).toEqual(['body-1', 'body-2', 'body-3']);
  });

  it('does not retry a non-idempotent 503, nor anything with retry: false', async () => {
    const [server] = await servers(1, (_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const mesh = track(
      new MeshClient({
        services: {
          a: { endpoints: [server!.url], outlierDetection: false },
          b: { endpoints: [server!.url], retry: false, outlierDetection: false },
        },
      }),
    );
    expect((await mesh.request('http://a/x', { method: 'POST', body: 'x' })).statusCode).toBe(503);
    expect(server!.requests).toHaveLength(1);
    expect((await mesh.request('http://b/x')).statusCode).toBe(503);
    expect(server!.requests).toHaveLength(2);
    expect((await mesh.request('http://a/x')).statusCode).toBe(503);
    expect(server!.requests).toHaveLength(5);
  });

  it('honours Retry-After up to retryAfterMaxMs and returns the response beyond it', async () => {
    const [server] = await servers(1, (req, res) => {
      res.statusCode = 503;
      res.setHeader('retry-after', req.url === '/soon' ? '0' : '5');
      res.end();
    });
    const events: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        services: { s: { endpoints: [server!.url], retry: { attempts: 2, retryAfterMaxMs: 1000 }, outlierDetection: false } },
      }),
    );
    mesh.on('metric', (e) => events.push(e));
    expect((await mesh.request('http://s/late')).statusCode).toBe(503);
    expect(server!.requests).toHaveLength(1);
    expect((await mesh.request('http://s/soon')).statusCode).toBe(503);
    expect(server!.requests).toHaveLength(3);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.delayMs)).toEqual([0]);
  });

  it('holds the retry budget: every endpoint 503, attempts 5, 1,000 requests → at most 1.25× upstream', async () => {
    const list = await servers(3, (_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const events: MetricEvent[] = [];
    // Real timers, frozen now(): the budget's 10/s floor cannot refill while the test runs.
    const mesh = track(
      new MeshClient({
        clock: frozenClock(),
        random: seededRandom(6),
        services: {
          s: {
            endpoints: list.map((s) => s.url),
            retry: { attempts: 5, backoff: { baseMs: 1, maxMs: 2 } },
            outlierDetection: false,
            circuitBreaker: false,
          },
        },
      }),
    );
    mesh.on('metric', (e) => events.push(e));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 1000) {
        next++;
        const res = await mesh.request('http://s/x');
        expect(res.statusCode).toBe(503);
        await res.body.dump();
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    const upstream = list.reduce((n, s) => n + s.requests.length, 0);
    const retries = events.filter((e) => e.type === 'retry').length;
    expect(upstream).toBe(1000 + retries);
    expect(upstream).toBeLessThanOrEqual(1250);
    expect(retries).toBeGreaterThanOrEqual(200);
    expect(events.filter((e) => e.type === 'retry-budget-exhausted').length).toBeGreaterThan(500);
    const budget = mesh.snapshot().services.s!.resilience.retryBudget as { requests: number; retries: number };
    expect(budget.requests).toBe(1000);
  });

  it('rejects bad retry and timeout options with their paths', () => {
    let error: unknown;
    try {
      new MeshClient({
        services: {
          orders: {
            retry: { attempts: 11, retryOn: ['5xx', 'sometimes' as never], backoff: { baseMs: 100, maxMs: 10 } },
            timeout: { perTryMs: 500, totalMs: 100 },
          },
        },
        defaults: { retry: { budget: { percent: -1 } } },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as MeshConfigError).issues.map((i) => i.path).sort()).toEqual([
      'defaults.retry.budget.percent',
      'services.orders.retry.attempts',
      'services.orders.retry.backoff.maxMs',
      'services.orders.retry.retryOn.1',
      'services.orders.timeout.perTryMs',
    ]);
  });
});
