import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, type MetricEvent } from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

/** Every retry that a retry condition asked for but the mesh did not send is reported with its reason. */
describe('retry-refused events', () => {
  let unavailable: TestServer;
  beforeAll(async () => {
    unavailable = await startServer('503', (_req, res) => {
      res.statusCode = 503;
      res.end('down');
    });
  });
  afterAll(() => unavailable.close());

  async function run(
    service: Record<string, unknown>,
    call: (mesh: MeshClient) => Promise<unknown>,
    random?: () => number,
  ): Promise<{ refused: string[]; retries: number; sent: number }> {
    const events: MetricEvent[] = [];
    const before = unavailable.requests.length;
    const mesh = new MeshClient({
      services: { s: { endpoints: [unavailable.url], outlierDetection: false, circuitBreaker: false, ...service } },
      observers: [{ onMetric: (e) => events.push(e) }],
      ...(random ? { random } : {}),
    });
    await call(mesh);
    await mesh.close();
    return {
      refused: events.flatMap((e) => (e.type === 'retry-refused' ? [`${e.reason}@${e.attempt}`] : [])),
      retries: events.filter((e) => e.type === 'retry').length,
      sent: unavailable.requests.length - before,
    };
  }
  const get = (m: MeshClient) => m.request('http://s/').then((r) => r.body.dump());

  it('reports the attempt limit once the last allowed attempt failed', async () => {
    const out = await run({ retry: { attempts: 3, retryOn: ['5xx'], backoff: { baseMs: 1, maxMs: 1 } } }, get);
    expect(out).toEqual({ refused: ['attempts@3'], retries: 2, sent: 3 });
  });

  it('reports a POST that may not be retried, and sends it once', async () => {
    const out = await run({ retry: { attempts: 3, retryOn: ['5xx'] } }, (m) =>
      m.request('http://s/', { method: 'POST', body: 'pay' }).then((r) => r.body.dump()),
    );
    expect(out).toEqual({ refused: ['non-idempotent@1'], retries: 0, sent: 1 });
  });

  it('reports a stream body as not replayable', async () => {
    const { Readable } = await import('node:stream');
    const out = await run({ retry: { attempts: 3, retryOn: ['5xx'] } }, (m) =>
      m.request('http://s/', { method: 'PUT', body: Readable.from(['a', 'b']) }).then((r) => r.body.dump()),
    );
    expect(out).toEqual({ refused: ['body-not-replayable@1'], retries: 0, sent: 1 });
  });

  it('reports a backoff that would outlive the total deadline', async () => {
    // Jitter draws 0.9 of the 5 s cap: the first retry would wait 4.5 s, past the 2 s deadline.
    const out = await run(
      { retry: { attempts: 5, retryOn: ['5xx'], backoff: { baseMs: 5_000, maxMs: 5_000 } }, timeout: { totalMs: 2_000 } },
      get,
      () => 0.9,
    );
    expect(out).toEqual({ refused: ['deadline@1'], retries: 0, sent: 1 });
  });
});
