/**
 * Load balancer quality, measured the way the docs quote it:
 * - hash policies: max/mean load over 100,000 keys and the share of keys
 *   remapped when 1 of N endpoints is removed (averaged over removals);
 * - load-aware policies: the share of requests sent to one endpoint that
 *   adds 40 ms, under 16 concurrent callers through a real MeshClient.
 * Run with `npm run bench -- --only balancers`.
 */
import {
  getLoadBalancer,
  MeshClient,
  type BalancerEndpoint,
  type LoadBalancer,
  type PickContext,
} from '../../src/index.js';
import { seededRandom } from '../helpers/random.js';
import { startWorkerServers } from '../helpers/worker-servers.js';
import type { BenchOptions, BenchReport } from './report.js';

function fleet(n: number): BalancerEndpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    url: `http://10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}:${8000 + (i % 1000)}`,
    protocol: 'http:' as const,
    host: '10.0.0.1',
    port: 8000,
    weight: 1,
    zone: undefined,
    priority: 0,
    labels: {},
    inflight: 0,
  }));
}

function create(policy: string, options: Record<string, unknown>): LoadBalancer {
  return getLoadBalancer(policy)!.create(options, { service: 'q', random: seededRandom(1), now: () => 0 });
}

function hashQuality(policy: string, options: Record<string, unknown>, n: number, keys: number, removals: number) {
  const ctxs: PickContext[] = Array.from({ length: keys }, (_, k) => {
    const headers: Record<string, string> = { 'x-user': `user-${k}` };
    return { request: { method: 'GET', path: '/', header: (name: string) => headers[name] }, tried: undefined };
  });
  const endpoints = fleet(n);
  const balancer = create(policy, options);
  balancer.update(endpoints);
  const before = ctxs.map((c) => balancer.pick(c)!);
  const counts = new Map<BalancerEndpoint, number>();
  for (const e of before) counts.set(e, (counts.get(e) ?? 0) + 1);
  const maxOverMean = Math.max(...counts.values()) / (keys / n);
  let moved = 0;
  for (let r = 0; r < removals; r++) {
    const removed = Math.floor((r * n) / removals);
    balancer.update(endpoints.filter((_, i) => i !== removed));
    for (let k = 0; k < keys; k++) if (balancer.pick(ctxs[k]!) !== before[k]) moved++;
  }
  const remapTimesN = (moved / keys / removals) * n;
  return { maxOverMean, remapTimesN };
}

async function slowShare(urls: string[], loadBalancer: string, takeCounts: () => Promise<number[]>, perCaller: number) {
  const mesh = new MeshClient({ services: { api: { endpoints: urls, loadBalancer } }, random: seededRandom(11) });
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < perCaller; i++) await (await mesh.request('http://api/work')).body.text();
    }),
  );
  await mesh.close();
  const counts = await takeCounts();
  return counts[1]! / counts.reduce((a, b) => a + b, 0);
}

/** Runs the quality measurements. */
export default async function bench({ smoke }: BenchOptions): Promise<BenchReport> {
  const keys = smoke ? 10_000 : 100_000;
  const hashRows: string[][] = [];
  for (const n of smoke ? [100] : [10, 100, 1000]) {
    for (const [policy, options] of [
      ['ring-hash', { hashOn: { header: 'x-user' } }],
      ['maglev', { hashOn: { header: 'x-user' } }],
    ] as const) {
      const q = hashQuality(policy, options, n, keys, smoke ? 2 : 10);
      hashRows.push([policy, String(n), q.maxOverMean.toFixed(3), `${q.remapTimesN.toFixed(2)}/N`]);
    }
  }
  const servers = await startWorkerServers([0, 40, 0, 0]);
  const shareRows: string[][] = [];
  try {
    for (const policy of ['round-robin', 'random', 'least-request', 'peak-ewma']) {
      const shares: number[] = [];
      for (let run = 0; run < (smoke ? 1 : 3); run++) {
        shares.push(await slowShare(servers.urls, policy, () => servers.takeCounts(), smoke ? 20 : 150));
      }
      shareRows.push([policy, shares.map((s) => `${(100 * s).toFixed(2)}%`).join(', ')]);
    }
  } finally {
    await servers.close();
  }
  return {
    title: 'Load balancer quality',
    tables: [
      {
        title: `Hash policies: ${keys.toLocaleString('en')} keys, default options`,
        header: ['policy', 'endpoints', 'max/mean load', 'keys remapped when 1 of N leaves (avg)'],
        rows: hashRows,
      },
      {
        title: '4 endpoints, one adding 40 ms, 16 concurrent callers: share sent to the slow one (per run)',
        header: ['policy', 'slow endpoint share'],
        rows: shareRows,
      },
    ],
  };
}
