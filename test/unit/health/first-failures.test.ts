import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, type HealthEvent } from '../../../src/index.js';
import { manualClock, type ManualClock } from '../../helpers/clock.js';
import { seededRandom } from '../../helpers/random.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

// Issue 24 point 2: health checks act on the first failures (Envoy's rules).

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A server whose /healthz answers `status()` (or never, when it returns 0); other paths answer its name. */
function server(name: string, status: () => number): Promise<TestServer> {
  return startServer(name, (req, res) => {
    if (req.url !== '/healthz') return void res.end(name);
    const s = status();
    if (s === 0) return; // hangs: the check times out
    res.statusCode = s;
    res.end();
  });
}

const checks = (s: TestServer): number => s.requests.filter((r) => r.url === '/healthz').length;
const served = (s: TestServer): number => s.requests.filter((r) => r.url !== '/healthz').length;

/** Advances the fake clock by `ms`, then waits (real time) until the checks it fired have answered. */
async function step(clock: ManualClock, ms: number, answered: () => boolean, what: string): Promise<void> {
  await clock.advance(ms);
  await until(answered, what);
  await clock.advance(0);
}

describe('health checks act on the first failures', () => {
  let good: TestServer[];
  let status = 503;
  let bad: TestServer;
  beforeAll(async () => {
    good = await Promise.all([server('g0', () => 200), server('g1', () => 200)]);
    bad = await server('bad', () => status);
  });
  afterAll(async () => {
    await Promise.all([...good, bad].map((s) => s.close()));
  });

  it('the measured scenario: a 503 on the first check takes the endpoint out before traffic starts', async () => {
    status = 503;
    bad.requests.length = 0;
    const clock = manualClock();
    const mesh = new MeshClient({
      clock,
      random: seededRandom(7),
      services: {
        orders: {
          endpoints: [good[0]!.url, bad.url, good[1]!.url],
          healthCheck: { path: '/healthz', intervalMs: 100, unhealthyThreshold: 2 },
          outlierDetection: false,
          retry: false,
        },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e: HealthEvent) => {
      if (e.type !== 'endpoint-added') events.push(`${e.type} ${e.endpoint ?? ''}`);
    });
    await step(clock, 10, () => mesh.health().services.orders!.usable === 2, 'the first check of the bad endpoint');
    for (let t = 0; t < 800; t += 100) await clock.advance(100); // no traffic for 800 ms
    const before = served(bad);
    for (let i = 0; i < 60; i++) await (await mesh.request('http://orders/')).body.text();
    expect(served(bad) - before).toBe(0);
    expect(events).toEqual([`endpoint-unhealthy ${bad.url}`]);
    expect(mesh.health().services.orders!.down).toEqual([
      {
        endpoint: bad.url,
        reasons: ['unhealthy'],
        // Still failing, and still checked every intervalMs through the quiet 800 ms.
        check: { healthy: false, consecutiveSuccesses: 0, consecutiveFailures: checks(bad), lastFailure: 'status 503' },
      },
    ]);
    expect(checks(bad)).toBeGreaterThanOrEqual(8);
    await mesh.close();
  });

  it('a status outside expectedStatuses is unhealthy at once; the full sequence, checked at intervalMs while failing', async () => {
    status = 500;
    bad.requests.length = 0;
    const clock = manualClock();
    const mesh = new MeshClient({
      clock,
      services: {
        orders: {
          endpoints: [bad.url],
          healthCheck: { intervalMs: 1_000, noTrafficIntervalMs: 60_000, jitterPercent: 0, unhealthyThreshold: 3, healthyThreshold: 2 },
          panicThreshold: 0,
        },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e: HealthEvent) => {
      if (e.type !== 'endpoint-added') events.push(`${clock.now()} ${e.type} ${e.reason ?? ''}`);
    });
    await step(clock, 0, () => checks(bad) === 1 && events.length === 1, 'the first check');
    expect(events).toEqual(['0 endpoint-unhealthy status 500 is not an expected status: unhealthy at once']);
    status = 200;
    // No traffic, but the endpoint is unhealthy: checked every intervalMs, not every 60 s.
    await step(clock, 1_000, () => checks(bad) === 2, 'the second check');
    expect(events).toHaveLength(1);
    await step(clock, 1_000, () => events.length === 2, 'the third check');
    expect(events).toEqual([
      '0 endpoint-unhealthy status 500 is not an expected status: unhealthy at once',
      '2000 endpoint-healthy 2 checks passed',
    ]);
    // Healthy, passing and idle: the slow interval again.
    await clock.advance(59_000);
    expect(checks(bad)).toBe(3);
    await mesh.close();
  });

  it('retriableStatuses count towards unhealthyThreshold, checked at intervalMs even with no traffic', async () => {
    status = 503;
    bad.requests.length = 0;
    const clock = manualClock();
    const mesh = new MeshClient({
      clock,
      services: {
        orders: {
          endpoints: [bad.url],
          healthCheck: { intervalMs: 1_000, jitterPercent: 0, unhealthyThreshold: 3, retriableStatuses: ['5xx'] },
          panicThreshold: 0,
        },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e: HealthEvent) => {
      if (e.type !== 'endpoint-added') events.push(`${clock.now()} ${e.type} ${e.reason ?? ''}`);
    });
    await step(clock, 0, () => checks(bad) === 1, 'check 1');
    await new Promise((r) => setTimeout(r, 50)); // its answer is in
    expect(events).toEqual([]);
    await step(clock, 1_000, () => checks(bad) === 2, 'check 2');
    expect(events).toEqual([]);
    await step(clock, 1_000, () => events.length === 1, 'check 3');
    expect(events).toEqual(['2000 endpoint-unhealthy 3 checks failed; last: status 503']);
    await mesh.close();
  });

  it('timeouts keep the threshold, and a failed check is confirmed at intervalMs, not the no-traffic interval', async () => {
    status = 0; // hang
    bad.requests.length = 0;
    const clock = manualClock();
    const mesh = new MeshClient({
      clock,
      services: {
        orders: {
          endpoints: [bad.url],
          healthCheck: { intervalMs: 1_000, timeoutMs: 200, jitterPercent: 0, unhealthyThreshold: 2 },
          panicThreshold: 0,
        },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e: HealthEvent) => {
      if (e.type !== 'endpoint-added') events.push(`${clock.now()} ${e.type} ${e.reason ?? ''}`);
    });
    await step(clock, 0, () => checks(bad) === 1, 'check 1 to arrive');
    await clock.advance(200); // times out
    expect(events).toEqual([]);
    expect(mesh.health().services.orders!.usable).toBe(1);
    await step(clock, 1_000, () => checks(bad) === 2, 'check 2 to arrive'); // at 1200, not 60200
    await clock.advance(200);
    expect(events).toEqual(['1400 endpoint-unhealthy 2 checks failed; last: timed out after 200 ms']);
    await mesh.close();
  });

  it('connect failures keep the threshold', async () => {
    const dead = await startServer('dead');
    const deadUrl = dead.url;
    await dead.close();
    const clock = manualClock();
    const mesh = new MeshClient({
      clock,
      services: {
        orders: { endpoints: [deadUrl], healthCheck: { intervalMs: 1_000, jitterPercent: 0, unhealthyThreshold: 2 }, panicThreshold: 0 },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e: HealthEvent) => {
      if (e.type !== 'endpoint-added') events.push(`${clock.now()} ${e.type}`);
    });
    const failures = (): number => mesh.health().services.orders!.down[0]?.check?.consecutiveFailures ?? 0;
    await clock.advance(0);
    await new Promise((r) => setTimeout(r, 100)); // the first connect failure is in
    expect(events).toEqual([]);
    expect(mesh.health().services.orders!.usable).toBe(1);
    await clock.advance(1_000);
    await until(() => events.length === 1, 'the second connect failure');
    expect(events).toEqual(['1000 endpoint-unhealthy']);
    expect(failures()).toBe(2);
    expect(mesh.health().services.orders!.down[0]!.check!.lastFailure).toMatch(/ECONNREFUSED|connect/);
    await mesh.close();
  });

  it('traffic split to another service re-arms that service\'s checks', async () => {
    const clock = manualClock();
    const calls: number[] = [];
    const mesh = new MeshClient({
      clock,
      services: {
        front: { routes: [{ split: [{ service: 'orders', weight: 1 }] }] },
        orders: {
          endpoints: [good[0]!.url],
          healthCheck: { check: () => void calls.push(clock.now()), intervalMs: 1_000, noTrafficIntervalMs: 60_000, jitterPercent: 0 },
        },
      },
    });
    await clock.advance(0);
    await clock.advance(5_000);
    await (await mesh.request('http://front/')).body.text();
    await clock.advance(1_000);
    expect(calls).toEqual([0, 6_000]);
    await mesh.close();
  });

  it('re-arms sleeping checks on the first request, once', async () => {
    const clock = manualClock();
    const calls: number[] = [];
    const mesh = new MeshClient({
      clock,
      services: {
        orders: {
          endpoints: [good[0]!.url],
          healthCheck: {
            check: () => {
              calls.push(clock.now());
              return true;
            },
            intervalMs: 1_000,
            noTrafficIntervalMs: 60_000,
            jitterPercent: 0,
          },
        },
      },
    });
    await clock.advance(0);
    await clock.advance(5_000);
    expect(calls).toEqual([0]); // asleep until 60 s
    await (await mesh.request('http://orders/')).body.text();
    await (await mesh.request('http://orders/')).body.text(); // already re-armed: no second reschedule
    expect(clock.pending()).toBe(1);
    await clock.advance(1_000);
    expect(calls).toEqual([0, 6_000]);
    await clock.advance(1_000);
    expect(calls).toEqual([0, 6_000, 7_000]); // traffic seen since 6 s: intervalMs
    await clock.advance(60_000);
    expect(calls).toEqual([0, 6_000, 7_000, 67_000]); // idle again: slow
    await mesh.close();
  });
});
