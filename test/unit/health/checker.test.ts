import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, type HealthCheckTarget, type HealthEvent, type MeshConfigError } from '../../../src/index.js';
import { manualClock } from '../../helpers/clock.js';
import { seededRandom } from '../../helpers/random.js';
import { startServer, startServers, type TestServer } from '../../helpers/servers.js';

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('active health checking', () => {
  let s: TestServer[];
  beforeAll(async () => {
    s = await startServers(4);
  });
  afterAll(async () => {
    await Promise.all(s.map((x) => x.close()));
  });

  it('walks the full transition sequence on the mesh clock (custom check)', async () => {
    const clock = manualClock();
    const down = new Set<string>();
    const calls: string[] = [];
    const mesh = new MeshClient({
      clock,
      random: seededRandom(1),
      services: {
        orders: {
          endpoints: [s[0]!.url, s[1]!.url, s[2]!.url],
          healthCheck: {
            check: (t: HealthCheckTarget) => {
              calls.push(`${clock.now()} ${t.port}`);
              return !down.has(t.url);
            },
            intervalMs: 1_000,
            noTrafficIntervalMs: 1_000,
            jitterPercent: 0,
            unhealthyThreshold: 2,
            healthyThreshold: 3,
          },
        },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e: HealthEvent) => events.push(`${clock.now()} ${e.type} ${e.endpoint ?? ''}`));
    await clock.advance(0); // first checks
    expect(calls).toHaveLength(3);
    down.add(s[1]!.url);
    await clock.advance(1_000); // failure 1
    expect(events).toEqual([]);
    await clock.advance(1_000); // failure 2: unhealthy
    expect(events).toEqual([`2000 endpoint-unhealthy ${s[1]!.url}`]);
    expect(mesh.health().services.orders).toMatchObject({
      endpoints: 3,
      usable: 2,
      panic: false,
      down: [{ endpoint: s[1]!.url, reasons: ['unhealthy'], check: { healthy: false, consecutiveFailures: 2 } }],
    });
    // Requests avoid it.
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await (await mesh.request('http://orders/')).body.text());
    expect([...seen].sort()).toEqual(['s0', 's2']);
    down.delete(s[1]!.url);
    await clock.advance(2_000); // successes 1, 2
    expect(events).toHaveLength(1);
    await clock.advance(1_000); // success 3: healthy
    expect(events).toEqual([`2000 endpoint-unhealthy ${s[1]!.url}`, `5000 endpoint-healthy ${s[1]!.url}`]);
    expect(mesh.health().services.orders!.usable).toBe(3);
    await mesh.close();
    expect(clock.pending()).toBe(0);
  });

  it('enters and leaves panic mode, and a flapping check never empties the service', async () => {
    const clock = manualClock();
    let round = 0;
    const index = new Map(s.map((x, i) => [x.url, i]));
    // Rounds 0-3: a flapping half (which half alternates); 4-5: none up; 6-7: all up.
    const up = (url: string): boolean => (round >= 6 ? true : round >= 4 ? false : (index.get(url)! + round) % 2 === 0);
    const mesh = new MeshClient({
      clock,
      services: {
        orders: {
          endpoints: s.map((x) => x.url),
          healthCheck: {
            check: (t) => up(t.url),
            intervalMs: 100,
            noTrafficIntervalMs: 100,
            jitterPercent: 0,
            unhealthyThreshold: 1,
            healthyThreshold: 1,
          },
        },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e) => {
      if (e.type === 'panic') events.push(e.reason!);
    });
    await clock.advance(0);
    for (round = 0; round < 8; round++) {
      await clock.advance(100);
      const h = mesh.health().services.orders!;
      const snap = mesh.snapshot().services.orders!;
      expect(snap.usableEndpoints).toBeGreaterThan(0); // never empty
      if (round === 4 || round === 5) expect(h).toMatchObject({ usable: 0, panic: true });
      if (round >= 6) expect(h).toMatchObject({ usable: 4, panic: false });
      const res = await mesh.request('http://orders/');
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    expect(events[0]).toMatch(/^entered panic mode: [01] of 4 endpoints up \(threshold 50%\); using all$/);
    expect(events.at(-1)).toMatch(/^left panic mode/);
    // Entered and left strictly alternate.
    events.forEach((e, i) => expect(e.startsWith(i % 2 === 0 ? 'entered' : 'left')).toBe(true));
    await mesh.close();
  });

  it('uses the slower interval while the service has no traffic, and a timeout fails the check', async () => {
    const clock = manualClock();
    const calls: number[] = [];
    let hang = false;
    const mesh = new MeshClient({
      clock,
      services: {
        orders: {
          endpoints: [s[0]!.url],
          healthCheck: {
            check: (t) => {
              calls.push(clock.now());
              if (hang) return new Promise<boolean>((resolve) => t.signal.addEventListener('abort', () => resolve(true)));
              return true;
            },
            intervalMs: 1_000,
            timeoutMs: 300,
            noTrafficIntervalMs: 10_000,
            jitterPercent: 0,
            unhealthyThreshold: 1,
          },
        },
      },
    });
    const events: string[] = [];
    mesh.on('health', (e) => events.push(`${clock.now()} ${e.type} ${e.reason ?? ''}`));
    await clock.advance(0);
    await clock.advance(10_000);
    expect(calls).toEqual([0, 10_000]); // idle: every 10 s
    await (await mesh.request('http://orders/')).body.text(); // traffic: the sleeping check is re-armed
    await clock.advance(10_000);
    // 11 s: re-armed at intervalMs; 12 s: traffic was seen since, so intervalMs again;
    // no traffic since 11 s: back to the slow interval, next at 22 s.
    expect(calls).toEqual([0, 10_000, 11_000, 12_000]);
    hang = true; // the check at 22 s times out at 22.3 s
    await clock.advance(2_300);
    expect(calls.at(-1)).toBe(22_000);
    expect(events).toEqual([
      '22300 endpoint-unhealthy 1 checks failed; last: timed out after 300 ms',
      '22300 panic entered panic mode: 0 of 1 endpoints up (threshold 50%); using all',
    ]);
    await mesh.close();
  });

  it('checks HTTP with path, expected statuses, headers and Host, and TCP connect', async () => {
    let status = 204;
    const hc = await startServer('hc', (req, res) => {
      res.statusCode = req.url === '/ready' ? status : 404;
      res.end();
    });
    const dead = await startServer('dead');
    const deadUrl = dead.url;
    await dead.close();
    const events: string[] = [];
    const mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [hc.url],
          healthCheck: {
            path: '/ready',
            expectedStatuses: [204, '3xx'],
            headers: { 'x-probe': 'proxyless' },
            host: 'orders.internal',
            intervalMs: 20,
            noTrafficIntervalMs: 20,
            unhealthyThreshold: 2,
            healthyThreshold: 1,
          },
        },
        users: {
          endpoints: [deadUrl, s[0]!.url],
          healthCheck: { type: 'tcp', intervalMs: 20, noTrafficIntervalMs: 20, unhealthyThreshold: 1 },
          panicThreshold: 0,
        },
      },
      observers: [{ onHealth: (e) => events.push(`${e.type} ${e.service} ${e.endpoint ?? ''}`) }],
    });
    await until(() => hc.requests.length >= 2, 'two HTTP checks');
    expect(hc.requests[0]).toMatchObject({ method: 'GET', url: '/ready', headers: { host: 'orders.internal', 'x-probe': 'proxyless' } });
    await until(() => events.includes(`endpoint-unhealthy users ${deadUrl}`), 'the TCP check to fail');
    expect(mesh.health().services.users).toMatchObject({ usable: 1, down: [{ endpoint: deadUrl, reasons: ['unhealthy'] }] });
    expect(mesh.health().services.users!.down[0]!.check!.lastFailure).toMatch(/connect failed/);
    status = 500;
    await until(() => events.includes(`endpoint-unhealthy orders ${hc.url}`), 'the HTTP check to fail');
    expect(mesh.health()).toMatchObject({ healthy: false, services: { orders: { usable: 0, panic: true } } });
    // Panic: the only endpoint is still used.
    expect((await mesh.request('http://orders/')).statusCode).toBe(404);
    status = 301;
    await until(() => events.includes(`endpoint-healthy orders ${hc.url}`), 'the HTTP check to pass');
    expect(events.filter((e) => e.startsWith('endpoint-') && !e.startsWith('endpoint-added'))).toEqual([
      `endpoint-unhealthy users ${deadUrl}`,
      `endpoint-unhealthy orders ${hc.url}`,
      `endpoint-healthy orders ${hc.url}`,
    ]);
    await mesh.close();
    await hc.close();
  });

  it('stops checking removed endpoints and forgets marks when health checking is turned off', async () => {
    const clock = manualClock();
    const checked: string[] = [];
    const check = (t: HealthCheckTarget) => {
      checked.push(t.url);
      return t.url !== s[1]!.url;
    };
    const hc = { check, intervalMs: 100, noTrafficIntervalMs: 100, jitterPercent: 0, unhealthyThreshold: 1 };
    const mesh = new MeshClient({ clock, services: { orders: { endpoints: [s[0]!.url, s[1]!.url, s[2]!.url], healthCheck: hc } } });
    await clock.advance(0);
    expect(mesh.health().services.orders!.usable).toBe(2);
    await mesh.updateConfig({ services: { orders: { endpoints: [s[0]!.url, s[1]!.url], healthCheck: hc } } });
    checked.length = 0;
    await clock.advance(100);
    expect(checked.sort()).toEqual([s[0]!.url, s[1]!.url].sort());
    expect(mesh.snapshot().services.orders!.usableEndpoints).toBe(1);
    await mesh.updateConfig({ services: { orders: { endpoints: [s[0]!.url, s[1]!.url] } } });
    expect(mesh.health().services.orders).toMatchObject({ usable: 2, down: [] });
    expect(mesh.snapshot().services.orders!.usableEndpoints).toBe(2); // the balancer has it back
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await (await mesh.request('http://orders/')).body.text());
    expect([...seen].sort()).toEqual(['s0', 's1']);
    expect(clock.pending()).toBe(0);
    await mesh.close();
  });

  it('rejects bad health check options with paths', () => {
    expect(() =>
      new MeshClient({
        services: {
          orders: {
            healthCheck: { intervalMs: 0, path: 'x', expectedStatuses: [700], check: 3 as never, bogus: 1 } as never,
            panicThreshold: 120,
          },
        },
      }),
    ).toThrow(
      expect.objectContaining({
        issues: expect.arrayContaining([
          expect.objectContaining({ path: 'services.orders.healthCheck.bogus', message: expect.any(String) }),
          expect.objectContaining({ path: 'services.orders.healthCheck.check', message: 'expected a function, found 3' }),
          expect.objectContaining({ path: 'services.orders.healthCheck.path', message: 'expected a path starting with "/", found "x"' }),
          expect.objectContaining({ path: 'services.orders.healthCheck.intervalMs', message: 'expected an integer >= 1, found 0' }),
          expect.objectContaining({ path: 'services.orders.healthCheck.expectedStatuses.0', message: expect.any(String) }),
          expect.objectContaining({ path: 'services.orders.panicThreshold', message: expect.any(String) }),
        ]),
      }),
    );
    try {
      new MeshClient({ services: { orders: { healthCheck: { intervalMs: 0, path: 'x', expectedStatuses: [700], check: 3 as never, bogus: 1 } as never, panicThreshold: 120 } } });
    } catch (error) {
      expect((error as MeshConfigError).issues).toHaveLength(6);
    }
  });
});
