import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, isMeshError, type ConfigIssue, type MeshConfig } from '../../../src/index.js';
import { manualClock } from '../../helpers/clock.js';
import { memoryTracing, spansOf, SpanKind } from '../../helpers/otel.js';
import { seededRandom } from '../../helpers/random.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

function issuesOf(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof MeshConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a MeshConfigError');
}

describe('faults: validation', () => {
  it('names every bad path: service, defaults and route level', () => {
    const issues = issuesOf(
      () =>
        new MeshClient({
          defaults: { faults: { delay: { percent: 101, ms: 5 } } },
          services: {
            orders: {
              endpoints: ['http://127.0.0.1:1'],
              faults: { abort: { percent: 5, status: 700 } },
              routes: [{ split: [{ weight: 1 }], faults: { abort: { percent: 5 }, jitter: 1 } as never }],
            },
          },
        }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual([
      'defaults.faults.delay.percent',
      'services.orders.faults.abort.status',
      'services.orders.routes.0.faults.abort',
      'services.orders.routes.0.faults.jitter',
    ]);
    const status = issues.find((i) => i.path === 'services.orders.faults.abort.status')!;
    expect(status).toMatchObject({ message: 'expected an integer >= 200 <= 599, found 700', expected: 'an integer >= 200 <= 599', found: '700' });
  });

  it('rejects a bad update whole and keeps the old faults', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: ['http://127.0.0.1:1'], faults: { abort: { percent: 100, status: 503 } } } } });
    await expect(
      mesh.updateConfig({ services: { orders: { endpoints: ['http://127.0.0.1:1'], faults: { abort: { percent: 100, error: 'boom' as never } } } } }),
    ).rejects.toBeInstanceOf(MeshConfigError);
    const res = await mesh.request('http://orders/');
    expect(res.statusCode).toBe(503);
    await res.body.text();
    await mesh.close();
  });
});

describe('faults: injection against a loopback server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('s0');
  });
  afterAll(() => server.close());
  afterEach(() => {
    server.requests.length = 0;
  });

  const config = (faults: MeshConfig['defaults']): MeshConfig => ({ services: { orders: { endpoints: [server.url], ...faults } } });

  it('an abort with a status answers without touching the network', async () => {
    const mesh = new MeshClient(config({ faults: { abort: { percent: 100, status: 503 } } }));
    const events: unknown[] = [];
    mesh.on('metric', (e) => events.push({ type: e.type, ...('status' in e ? { status: e.status } : {}), ...('attempts' in e ? { attempts: e.attempts } : {}) }));
    const res = await mesh.request('http://orders/a');
    expect(res.statusCode).toBe(503);
    expect(res.headers['x-proxyless-fault']).toBe('abort');
    expect(await res.body.text()).toBe('fault filter abort');
    const viaFetch = await mesh.fetch('http://orders/b');
    expect(viaFetch.status).toBe(503);
    expect(await viaFetch.text()).toBe('fault filter abort');
    expect(server.requests).toHaveLength(0);
    expect(events).toEqual([
      { type: 'request', status: 503, attempts: 0 },
      { type: 'request', status: 503, attempts: 0 },
    ]);
    await mesh.close();
  });

  it('an abort with an error fails with a MeshError (timeout kinds: MESH_TIMEOUT) and is not retried', async () => {
    const codes: string[] = [];
    for (const error of ['reset', 'connect-refused', 'timeout', 'connect-timeout'] as const) {
      const mesh = new MeshClient(config({ faults: { abort: { percent: 100, error } }, retry: { attempts: 3 } }));
      const failure = await mesh.request('http://orders/').catch((e: unknown) => e);
      expect(isMeshError(failure)).toBe(true);
      codes.push(`${(failure as { code: string }).code}/${((failure as { cause: { code: string } }).cause).code}`);
      await mesh.close();
    }
    expect(codes).toEqual([
      'MESH_UPSTREAM_FAILURE/ECONNRESET',
      'MESH_UPSTREAM_FAILURE/ECONNREFUSED',
      'MESH_TIMEOUT/UND_ERR_HEADERS_TIMEOUT',
      'MESH_TIMEOUT/UND_ERR_HEADERS_TIMEOUT',
    ]);
    expect(server.requests).toHaveLength(0);
  });

  it('aborts the asked share of requests, reproducibly with a seeded random', async () => {
    const run = async (seed: number) => {
      const mesh = new MeshClient({ ...config({ faults: { abort: { percent: 30, status: 503 } } }), random: seededRandom(seed) });
      const statuses: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const res = await mesh.request('http://orders/');
        await res.body.text();
        statuses.push(res.statusCode);
      }
      await mesh.close();
      return statuses;
    };
    const first = await run(7);
    const aborted = first.filter((s) => s === 503).length;
    // Binomial(1000, 0.3): mean 300, sd 14.5; a seeded draw, so this never flakes.
    expect(aborted).toBeGreaterThan(250);
    expect(aborted).toBeLessThan(350);
    expect(server.requests).toHaveLength(1000 - aborted);
    server.requests.length = 0;
    expect(await run(7)).toEqual(first);
  });

  it('a delay waits on the mesh clock before sending; a caller abort during it sends nothing', async () => {
    const clock = manualClock();
    const mesh = new MeshClient({ ...config({ faults: { delay: { percent: 100, ms: 2_000 } } }), clock });
    let done = false;
    const pending = mesh.request('http://orders/slow').then(async (r) => {
      done = true;
      return [r.statusCode, await r.body.text()];
    });
    await clock.advance(1_999);
    expect(done).toBe(false);
    expect(server.requests).toHaveLength(0);
    await clock.advance(1);
    expect(await pending).toEqual([200, 's0']);
    expect(server.requests.map((r) => r.url)).toEqual(['/slow']);

    const controller = new AbortController();
    const cancelled = mesh.request('http://orders/cancelled', { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(500);
    controller.abort(new Error('caller gave up'));
    expect(((await cancelled) as Error).message).toBe('caller gave up');
    expect(clock.pending()).toBe(0);
    await clock.advance(5_000);
    expect(server.requests.map((r) => r.url)).toEqual(['/slow']);
    await mesh.close();
  });

  it('route faults replace the service faults; false turns them off; defaults apply to every service', async () => {
    const mesh = new MeshClient({
      defaults: { faults: { abort: { percent: 100, status: 500 } } },
      services: {
        orders: {
          endpoints: [server.url],
          faults: { abort: { percent: 100, status: 503 } },
          routes: [
            { match: { path: { prefix: '/teapot' } }, split: [{ weight: 1 }], faults: { abort: { percent: 100, status: 418 } } },
            { match: { path: { prefix: '/clean' } }, split: [{ weight: 1 }], faults: false },
          ],
        },
        users: { endpoints: [server.url] },
        payments: { endpoints: [server.url], faults: false },
      },
    });
    const statuses: number[] = [];
    for (const url of ['http://orders/teapot', 'http://orders/clean', 'http://orders/other', 'http://users/', 'http://payments/']) {
      const res = await mesh.request(url);
      await res.body.text();
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([418, 200, 503, 500, 200]);
    // The faults in force are visible in the snapshot (defaults filled in per service).
    const snap = mesh.snapshot().services;
    expect([snap.orders?.faults, snap.users?.faults, snap.payments?.faults]).toEqual([
      { abort: { percent: 100, status: 503 } },
      { abort: { percent: 100, status: 500 } },
      undefined,
    ]);
    expect(server.requests.map((r) => r.url)).toEqual(['/clean', '/']);
    await mesh.close();
  });

  it('sets proxyless.fault on the request span', async () => {
    const t = memoryTracing();
    const clock = manualClock();
    const mesh = new MeshClient({
      ...config({ faults: { delay: { percent: 100, ms: 10 }, abort: { percent: 100, status: 503 } } }),
      clock,
      telemetry: { tracerProvider: t.provider, propagator: t.propagator },
    });
    const pending = mesh.request('http://orders/');
    await clock.advance(10);
    await (await pending).body.text();
    const [internal] = spansOf(t.exporter.getFinishedSpans(), SpanKind.INTERNAL);
    expect(internal!.attributes['proxyless.fault']).toBe('delay,abort');
    expect(internal!.attributes['http.response.status_code']).toBe(503);
    expect(spansOf(t.exporter.getFinishedSpans(), SpanKind.CLIENT)).toHaveLength(0);
    await mesh.close();
  });
});
