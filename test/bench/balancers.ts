/**
 * Load balancer cost: nanoseconds per pick at 10, 1,000 and 10,000 endpoints
 * for every built-in policy, and the time of `update()` (rebuilding the
 * schedule, ring or table) for a 10,000-endpoint change. Run with
 * `npm run bench -- --only balancers`.
 */
import { getLoadBalancer, type BalancerEndpoint, type LoadBalancer, type PickContext } from '../../src/index.js';
import { seededRandom } from '../helpers/random.js';
import type { BenchOptions, BenchReport } from './report.js';

/** Policy, options, and whether all endpoints have the same weight (else weights 1-4). */
const POLICIES: [string, Record<string, unknown>, boolean?][] = [
  ['round-robin', {}, true],
  ['round-robin', {}],
  ['weighted-round-robin', {}],
  ['random', {}],
  ['least-request', {}],
  ['peak-ewma', {}],
  ['ring-hash', { hashOn: { header: 'x-user' } }],
  ['maglev', { hashOn: { header: 'x-user' } }],
];
const SIZES = [10, 1_000, 10_000];

function endpoints(n: number, salt = 0, uniform = false): BalancerEndpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    url: `http://10.${(i >> 8) & 255}.${i & 255}.${salt}:${8000 + (i % 1000)}`,
    protocol: 'http:' as const,
    host: `10.${(i >> 8) & 255}.${i & 255}.${salt}`,
    port: 8000 + (i % 1000),
    // Mixed weights unless asked, so weighted code paths are measured.
    weight: uniform ? 1 : 1 + (i % 4),
    zone: undefined,
    priority: 0,
    labels: {},
    inflight: i % 3,
  }));
}

/** 1,024 requests with distinct hash keys, cycled through. */
function contexts(): PickContext[] {
  return Array.from({ length: 1024 }, (_, k) => {
    const headers: Record<string, string> = { 'x-user': `user-${k * 7919}` };
    return { request: { method: 'GET', path: '/cart', header: (name: string) => headers[name] }, tried: undefined };
  });
}

function create(policy: string, options: Record<string, unknown>): LoadBalancer {
  const definition = getLoadBalancer(policy)!;
  let t = 0;
  return definition.create(options, { service: 'bench', random: seededRandom(42), now: () => (t += 0.001) });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * Process CPU time in nanoseconds. On a shared machine wall time counts the
 * time other processes hold the core; CPU time does not (it does include any
 * GC helper threads, which a pick loop that allocates nothing barely uses).
 */
function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** Median CPU ns per pick over `rounds` rounds of `picks` picks. */
function pickCost(balancer: LoadBalancer, ctxs: PickContext[], picks: number, rounds: number): number {
  let sink = 0;
  const samples: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const start = cpuNs();
    for (let i = 0; i < picks; i++) {
      const e = balancer.pick(ctxs[i & 1023]!);
      if (e !== undefined) sink += e.port;
    }
    const ns = cpuNs() - start;
    if (r > 0) samples.push(ns / picks); // round 0 warms up
  }
  if (sink === 0) throw new Error('nothing picked');
  return median(samples);
}

/** Median ms of `update()` alternating between two 10,000-endpoint sets (one endpoint apart, other weights). */
function rebuildCost(policy: string, options: Record<string, unknown>, uniform: boolean, rounds: number): number {
  const a = endpoints(10_000, 0, uniform);
  const b = endpoints(10_000, 1, uniform).slice(1);
  const balancer = create(policy, options);
  balancer.update(a);
  const samples: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const next = r % 2 === 0 ? b : a;
    const start = cpuNs();
    balancer.update(next);
    const ms = (cpuNs() - start) / 1e6;
    if (r > 0) samples.push(ms);
  }
  return median(samples);
}

/** Runs the balancer benchmark. */
export default async function bench({ smoke }: BenchOptions): Promise<BenchReport> {
  const picks = smoke ? 20_000 : 1_000_000;
  const rounds = smoke ? 3 : 9;
  const ctxs = contexts();
  const rows: string[][] = [];
  for (const [policy, options, uniform = false] of POLICIES) {
    const row = [`${policy}${uniform ? ' (equal weights)' : ''}`];
    for (const n of SIZES) {
      const balancer = create(policy, options);
      balancer.update(endpoints(n, 0, uniform));
      row.push(pickCost(balancer, ctxs, picks, rounds).toFixed(0));
      await new Promise((resolve) => setImmediate(resolve));
    }
    rows.push([...row, rebuildCost(policy, options, uniform, smoke ? 2 : 7).toFixed(2)]);
  }
  return {
    title: 'Load balancer pick cost',
    tables: [
      {
        title: `CPU ns per pick (median of ${rounds} rounds of ${picks.toLocaleString('en')} picks), and CPU ms of update() for a 10,000-endpoint change (median)`,
        header: ['policy', ...SIZES.map((n) => `${n.toLocaleString('en')} endpoints`), 'update(), ms'],
        rows,
      },
    ],
  };
}
