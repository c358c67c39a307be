import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type MetricEvent } from '../../src/index.js';
import { seededRandom } from '../helpers/random.js';
import { startServer, type TestHandler, type TestServer } from '../helpers/servers.js';

const ENDPOINTS = 4;
const DURATION_MS = 10_000;
const WORKERS = 64;

// Issue 24's rolling restart, with the DEFAULT resilience config (only the random source is seeded): 4 endpoints,
// 64 callers, one endpoint killed every second while the one killed before comes back on its port.
describe('chaos: endpoints killed and restarted every second under steady load', () => {
  it('keeps >= 99.9% of idempotent requests successful with the default config and never sends a non-idempotent request twice', async () => {
    const received: { method: string; body: string }[] = [];
    const handler: TestHandler = (req, res, body) => {
      received.push({ method: req.method ?? '', body });
      res.end('ok');
    };
    const servers: (TestServer | undefined)[] = [];
    for (let i = 0; i < ENDPOINTS; i++) servers.push(await startServer(`e${i}`, handler));
    const ports = servers.map((s) => s!.port);
    const metrics: Record<string, number> = {};
    const mesh = new MeshClient({
      random: seededRandom(42),
      services: {
        api: {
          endpoints: ports.map((p) => `http://127.0.0.1:${p}`),
        },
      },
    });
    mesh.on('metric', (e: MetricEvent) => {
      if (e.type === 'attempt' || e.type === 'request') return;
      const key = e.type === 'retry' || e.type === 'retry-refused' ? `${e.type}:${e.reason}` : e.type;
      metrics[key] = (metrics[key] ?? 0) + 1;
    });
    const health: string[] = [];
    mesh.on('health', (e) => health.push(e.type));

    const started = performance.now();
    let stop = false;
    // The chaos monkey: every second, kill one endpoint and bring back the one killed before.
    const monkey = (async () => {
      let round = 0;
      while (performance.now() - started < DURATION_MS) {
        await new Promise((r) => setTimeout(r, 1000));
        const victim = round % ENDPOINTS;
        const revive = (round + ENDPOINTS - 1) % ENDPOINTS;
        if (round > 0 && servers[revive] === undefined) servers[revive] = await startServer(`e${revive}`, handler, ports[revive]);
        const s = servers[victim];
        servers[victim] = undefined;
        await s?.close();
        round++;
      }
      stop = true;
    })();

    const results = { getOk: 0, getFailed: 0, postOk: 0, postFailed: 0 };
    const failures: string[] = [];
    let postId = 0;
    const worker = async (w: number): Promise<void> => {
      let n = 0;
      while (!stop) {
        n++;
        const isPost = n % 10 === w % 10;
        try {
          const res = isPost
            ? await mesh.request('http://api/orders', { method: 'POST', body: `post-${++postId}` })
            : await mesh.request(`http://api/orders/${n}`);
          const text = await res.body.text();
          const ok = res.statusCode === 200 && text === 'ok';
          if (isPost) results[ok ? 'postOk' : 'postFailed']++;
          else results[ok ? 'getOk' : 'getFailed']++;
        } catch (e) {
          if (isPost) results.postFailed++;
          else {
            results.getFailed++;
            failures.push(isMeshError(e) ? `${e.code}: ${e.message}` : String(e));
          }
        }
      }
    };
    await Promise.all([monkey, ...Array.from({ length: WORKERS }, (_, w) => worker(w))]);
    await mesh.close();
    await Promise.all(servers.map((s) => s?.close()));

    const gets = results.getOk + results.getFailed;
    const posts = received.filter((r) => r.method === 'POST').map((r) => r.body);
    const duplicates = posts.filter((b, i) => posts.indexOf(b) !== i);
    const rate = results.getOk / gets;
    console.log('chaos results', {
      getSuccessRate: `${(rate * 100).toFixed(3)}%`,
      ...results,
      metrics,
      health: countBy(health),
      failures: failures.slice(0, 5),
    });
    expect(gets).toBeGreaterThan(2_000);
    expect(rate).toBeGreaterThanOrEqual(0.999);
    expect(duplicates).toEqual([]);
    expect(results.postOk).toBeGreaterThan(0);
    expect(health).toContain('circuit-open');
  });
});

function countBy(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
}
