import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type HealthEvent, type MetricEvent } from '../../../src/index.js';
import { manualClock } from '../../helpers/sync-clock.js';
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

function healthLog(mesh: MeshClient, servers: TestServer[]): string[] {
  const log: string[] = [];
  const name = (url: string | undefined): string => {
    const i = servers.findIndex((s) => s.url === url);
    return i >= 0 ? `s${i}` : (url ?? 'service');
  };
  mesh.on('health', (e: HealthEvent) => {
    if (e.type !== 'endpoint-added') log.push(`${e.type} ${name(e.endpoint)}`);
  });
  return log;
}

async function get(mesh: MeshClient, url: string): Promise<number | string> {
  try {
    const res = await mesh.request(url);
    await res.body.dump();
    return res.statusCode;
  } catch (e) {
    return isMeshError(e) ? e.code : String(e);
  }
}

describe('outlier detection against real endpoints', () => {
  it('ejects an always-500 endpoint after consecutive5xx; it gets nothing until the ejection time passes', async () => {
    const list = await startServers(3, 's', (req, res) => {
      if (req.socket.localPort === bad.port) res.statusCode = 500;
      res.end();
    });
    list.forEach(track);
    const bad = list[1]!;
    const clock = manualClock();
    const mesh = track(
      new MeshClient({
        clock,
        random: seededRandom(7),
        services: {
          s: {
            endpoints: list.map((s) => s.url),
            outlierDetection: { consecutive5xx: 5, baseEjectionTimeMs: 30_000, successRate: false },
            circuitBreaker: false,
          },
        },
      }),
    );
    const log = healthLog(mesh, list);
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 60; i++) statuses.push(await get(mesh, 'http://s/x'));
    expect(bad.requests).toHaveLength(5);
    expect(statuses.filter((s) => s === 500)).toHaveLength(5);
    expect(log).toEqual(['endpoint-ejected s1']);
    expect(mesh.snapshot().services.s!.usableEndpoints).toBe(2);
    expect(mesh.snapshot().services.s!.endpoints[1]).toMatchObject({ outlier: { ejected: true, ejectedUntilMs: 30_000, timesEjected: 1 } });

    clock.advance(29_999);
    for (let i = 0; i < 30; i++) await get(mesh, 'http://s/x');
    expect(bad.requests).toHaveLength(5);
    clock.advance(1);
    for (let i = 0; i < 30; i++) await get(mesh, 'http://s/x');
    // Back in rotation, it fails 5 more times and is ejected again, now for 60 s.
    expect(bad.requests).toHaveLength(10);
    expect(log).toEqual(['endpoint-ejected s1', 'endpoint-restored s1', 'endpoint-ejected s1']);
    expect(mesh.snapshot().services.s!.endpoints[1]).toMatchObject({ outlier: { ejectedUntilMs: 60_000, timesEjected: 2 } });
  });

  it('never ejects beyond maxEjectionPercent (at least one), even when two endpoints fail', async () => {
    const list = await startServers(3, 's', (req, res) => {
      if (req.socket.localPort !== list[0]!.port) res.statusCode = 503;
      res.end();
    });
    list.forEach(track);
    const clock = manualClock();
    const mesh = track(
      new MeshClient({
        clock,
        random: seededRandom(8),
        services: {
          s: {
            endpoints: list.map((s) => s.url),
            retry: false,
            outlierDetection: { consecutive5xx: 3, maxEjectionPercent: 10, successRate: false },
            circuitBreaker: false,
          },
        },
      }),
    );
    const log = healthLog(mesh, list);
    for (let i = 0; i < 40; i++) await get(mesh, 'http://s/x');
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^endpoint-ejected s[12]$/);
    expect(mesh.snapshot().services.s!.usableEndpoints).toBe(2);
    expect(mesh.snapshot().services.s!).toMatchObject({ panic: false, resilience: { ejected: 1 } });
  });
});

describe('endpoint circuit breakers', () => {
  it('opens on a dead endpoint, moves traffic, half-opens, probes and closes when it is back', async () => {
    const list = await startServers(3);
    list.forEach(track);
    const clock = manualClock();
    const mesh = track(
      new MeshClient({
        clock,
        random: seededRandom(9),
        services: {
          s: {
            endpoints: list.map((s) => s.url),
            circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 5_000 },
            retry: { backoff: false },
            outlierDetection: false,
          },
        },
      }),
    );
    const log = healthLog(mesh, list);
    // Breakers are created on an endpoint's first outcome; before any traffic each reads closed.
    expect(mesh.snapshot().services.s!.endpoints.map((e) => e.circuit)).toEqual(['closed', 'closed', 'closed']);
    const victim = list[2]!;
    const port = victim.port;
    await victim.close();
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 30; i++) statuses.push(await get(mesh, 'http://s/x'));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(log).toEqual(['circuit-open s2']);
    expect(mesh.snapshot().services.s!.endpoints[2]).toMatchObject({ circuit: 'open' });
    expect(mesh.snapshot().services.s!.usableEndpoints).toBe(2);

    clock.advance(5_000);
    expect(log).toEqual(['circuit-open s2', 'circuit-half-open s2']);
    // Still dead: the probe fails (and is retried elsewhere), the breaker opens again.
    for (let i = 0; i < 6; i++) expect(await get(mesh, 'http://s/x')).toBe(200);
    expect(log).toEqual(['circuit-open s2', 'circuit-half-open s2', 'circuit-open s2']);

    // Back on the same port: the next probe (after twice the open time: the second opening in a row) closes the
    // breaker and it gets traffic again.
    const revived = track(await startServer('revived', undefined, port));
    clock.advance(9_999);
    expect(log).toEqual(['circuit-open s2', 'circuit-half-open s2', 'circuit-open s2']);
    clock.advance(1);
    for (let i = 0; i < 9; i++) expect(await get(mesh, 'http://s/x')).toBe(200);
    expect(log).toEqual(['circuit-open s2', 'circuit-half-open s2', 'circuit-open s2', 'circuit-half-open s2', 'circuit-closed s2']);
    expect(revived.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('panics rather than fail when too few endpoints are usable', async () => {
    const list = await startServers(2);
    list.forEach(track);
    const clock = manualClock();
    const mesh = track(
      new MeshClient({
        clock,
        services: {
          s: {
            endpoints: list.map((s) => s.url),
            circuitBreaker: { consecutiveFailures: 1 },
            retry: false,
            outlierDetection: false,
          },
        },
      }),
    );
    const log = healthLog(mesh, list);
    await Promise.all(list.map((s) => s.close()));
    expect(await get(mesh, 'http://s/x')).toBe('MESH_UPSTREAM_FAILURE');
    expect(await get(mesh, 'http://s/x')).toBe('MESH_UPSTREAM_FAILURE');
    expect(log.slice(0, 3).sort()).toEqual(['circuit-open s0', 'circuit-open s1', 'panic service'].sort());
    // In panic every endpoint is balanced over: requests still reach the network, not MESH_NO_HEALTHY_ENDPOINT.
    expect(await get(mesh, 'http://s/x')).toBe('MESH_UPSTREAM_FAILURE');
    expect(mesh.snapshot().services.s).toMatchObject({ usableEndpoints: 2, panic: true });
  });
});

describe('service circuit breaker', () => {
  it('fails fast with MESH_CIRCUIT_OPEN, lets one probe through when half-open, closes on success', async () => {
    let healthy = false;
    const server = track(
      await startServer('svc', (_req, res) => {
        res.statusCode = healthy ? 200 : 503;
        res.end();
      }),
    );
    const clock = manualClock();
    const metrics: MetricEvent[] = [];
    const mesh = track(
      new MeshClient({
        clock,
        services: {
          s: {
            endpoints: [server.url],
            retry: false,
            outlierDetection: false,
            circuitBreaker: { service: { consecutiveFailures: 3, halfOpenAfterMs: 1_000 } },
          },
        },
      }),
    );
    const log = healthLog(mesh, [server]);
    mesh.on('metric', (e) => metrics.push(e));
    expect([await get(mesh, 'http://s/x'), await get(mesh, 'http://s/x'), await get(mesh, 'http://s/x')]).toEqual([503, 503, 503]);
    expect(await get(mesh, 'http://s/x')).toBe('MESH_CIRCUIT_OPEN');
    expect(server.requests).toHaveLength(3);
    expect(metrics.filter((e) => e.type === 'rejected').map((e) => e.type === 'rejected' && e.reason)).toEqual(['MESH_CIRCUIT_OPEN']);
    expect(mesh.snapshot().services.s!.resilience).toMatchObject({ circuit: 'open' });
    clock.advance(1_000);
    healthy = true;
    const [probe, other] = await Promise.all([get(mesh, 'http://s/x'), get(mesh, 'http://s/x')]);
    expect([probe, other]).toEqual([200, 'MESH_CIRCUIT_OPEN']);
    expect(await get(mesh, 'http://s/x')).toBe(200);
    expect(log).toEqual(['circuit-open service', 'circuit-half-open service', 'circuit-closed service']);
  });
});
