import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeastRequestBalancer, MeshClient, PeakEwmaBalancer } from '../../../src/index.js';
import { context, countPicks, fakeEndpoints } from '../../helpers/balancers.js';
import { seededRandom } from '../../helpers/random.js';
import { startWorkerServers, type WorkerServers } from '../../helpers/worker-servers.js';

const CALLERS = 16;
const PER_CALLER = 150;
const SLOW_MS = 40;

describe('load-aware policies against a slow endpoint (real loopback servers)', () => {
  // Servers on a worker thread: their own event loop, so serving does not
  // distort the client's view of latency on this small, shared machine.
  let servers: WorkerServers;
  beforeAll(async () => {
    servers = await startWorkerServers([0, SLOW_MS, 0, 0]);
  });
  afterAll(async () => {
    await servers.close();
  });

  /** 16 callers, each sending requests back to back; returns the slow server's share of what the servers counted. */
  async function slowShare(loadBalancer: string): Promise<number> {
    const mesh = new MeshClient({
      services: { api: { endpoints: servers.urls, loadBalancer } },
      random: seededRandom(11),
    });
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        for (let i = 0; i < PER_CALLER; i++) {
          const res = await mesh.request('http://api/work');
          await res.body.text();
        }
      }),
    );
    await mesh.close();
    const counts = await servers.takeCounts();
    const total = counts.reduce((a, b) => a + b, 0);
    expect(total).toBe(CALLERS * PER_CALLER);
    return counts[1]! / total;
  }

  it('round-robin sends the slow endpoint its 25%', async () => {
    const share = await slowShare('round-robin');
    expect(share).toBeGreaterThan(0.24);
    expect(share).toBeLessThan(0.26);
  });

  // How much least-request sends the slow endpoint depends on how fast the
  // client turns requests over: it equalises in-flight counts, so the slow
  // endpoint's share is about (its in-flight / 40 ms) / total throughput. On
  // this shared 2-core machine other processes can starve the client for a
  // while, so a run may be measured again (at most 3 runs); every run must
  // still be far from round robin's 25%.
  async function bestOfThree(policy: string): Promise<number[]> {
    const shares: number[] = [];
    while (shares.length < 3 && !shares.some((s) => s < 0.05)) shares.push(await slowShare(policy));
    return shares;
  }

  it('least-request sends it under 5%', async () => {
    const shares = await bestOfThree('least-request');
    expect(Math.min(...shares)).toBeLessThan(0.05);
    for (const share of shares) expect(share).toBeLessThan(0.1);
  });

  it('peak-ewma sends it under 5%', async () => {
    const shares = await bestOfThree('peak-ewma');
    expect(Math.min(...shares)).toBeLessThan(0.05);
    for (const share of shares) expect(share).toBeLessThan(0.1);
  });
});

describe('least-request with a hand-set load', () => {
  it('compares distinct candidates and keeps the least loaded', () => {
    const endpoints = fakeEndpoints([1, 1, 1, 1]);
    endpoints.forEach((e, i) => (e.inflight = i === 1 ? 0 : 5));
    const p2c = new LeastRequestBalancer({}, seededRandom(4));
    p2c.update(endpoints);
    const counts = countPicks(p2c, endpoints, 20_000);
    // The idle endpoint wins whenever it is one of the two distinct candidates: 1 - (3/4)(2/3) = 1/2.
    expect(Math.abs(counts[1]! / 20_000 - 0.5)).toBeLessThan(0.015);
    // Comparing every endpoint always finds it.
    const full = new LeastRequestBalancer({ choiceCount: 4 }, seededRandom(4));
    full.update(endpoints);
    expect(countPicks(full, endpoints, 1000)).toEqual([0, 1000, 0, 0]);
  });

  it('divides in-flight requests by weight', () => {
    const endpoints = fakeEndpoints([1, 4]);
    endpoints[0]!.inflight = 1; // load 1
    endpoints[1]!.inflight = 2; // load 0.5
    const balancer = new LeastRequestBalancer({}, seededRandom(5));
    balancer.update(endpoints);
    expect(countPicks(balancer, endpoints, 100)).toEqual([0, 100]);
  });
});

describe('peak-ewma cost (clock-driven)', () => {
  it('jumps to a peak at once, decays toward lower samples and toward 0 when idle', () => {
    let now = 0;
    const endpoints = fakeEndpoints([1, 1]);
    const balancer = new PeakEwmaBalancer({ decayMs: 1000 }, seededRandom(1), () => now);
    balancer.update(endpoints);
    const [a] = endpoints as [(typeof endpoints)[number]];
    const costs: number[] = [];
    const record = () => costs.push(Math.round(balancer.costOf(a) * 1000) / 1000);
    balancer.report(a, { durationMs: 10, ok: true }); // first sample: the peak
    record();
    balancer.report(a, { durationMs: 50, ok: true }); // higher: taken at once
    record();
    now += 1000; // one decay time later, a low sample pulls it 63% of the way
    balancer.report(a, { durationMs: 10, ok: true });
    record();
    now += 2000; // idle for two decay times: e^-2 of the cost remains
    record();
    expect(costs).toEqual([10, 50, round(50 * Math.exp(-1) + 10 * (1 - Math.exp(-1))), round((50 * Math.exp(-1) + 10 * (1 - Math.exp(-1))) * Math.exp(-2))]);
  });

  it('avoids a slow endpoint and an unproven busy one, and comes back to it as its cost decays', () => {
    let now = 0;
    const endpoints = fakeEndpoints([1, 1]);
    const [fastOne, slowOne] = endpoints as [(typeof endpoints)[number], (typeof endpoints)[number]];
    const balancer = new PeakEwmaBalancer({ decayMs: 1000 }, seededRandom(2), () => now);
    balancer.update(endpoints);
    // No samples, one in flight on slowOne: it costs a penalty, so fastOne wins.
    slowOne.inflight = 1;
    expect(balancer.pick(context())).toBe(fastOne);
    slowOne.inflight = 0;
    balancer.report(fastOne, { durationMs: 2, ok: true });
    balancer.report(slowOne, { durationMs: 40, ok: true });
    // With two endpoints P2C compares both: always the cheaper.
    for (let i = 0; i < 20; i++) expect(balancer.pick(context())).toBe(fastOne);
    // Four requests in flight on fastOne: 2 × 5 = 10 < 40, still fastOne.
    fastOne.inflight = 4;
    expect(balancer.pick(context())).toBe(fastOne);
    // Twenty in flight: 2 × 21 = 42 > 40, so the slow one takes the next.
    fastOne.inflight = 20;
    expect(balancer.pick(context())).toBe(slowOne);
    // Idle again; after 3 decay times slowOne costs 40·e^-3 ≈ 2 and fastOne 2·e^-3: fastOne still.
    fastOne.inflight = 0;
    now += 3000;
    expect(balancer.pick(context())).toBe(fastOne);
  });
});

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
