import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type HealthEvent } from '../../../src/index.js';
import { tcpConnectProbe } from '../../../src/resilience/connect-probe.js';
import { seededRandom } from '../../helpers/random.js';
import { startServer, startServers, type TestServer } from '../../helpers/servers.js';
import { deadPort, manualClock } from '../../helpers/sync-clock.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** Waits (real time) until `cond` holds, polling every few milliseconds. */
async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('tcpConnectProbe', () => {
  it('is true when the port accepts, false when it refuses; the socket is closed at once and nothing is written', async () => {
    const events: string[] = [];
    const server = createServer((s: Socket) => {
      events.push('accepted');
      s.on('data', () => events.push('data'));
      s.on('close', () => events.push('closed'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    expect(await tcpConnectProbe({ host: '127.0.0.1', port }, 1_000)).toBe(true);
    await until(() => events.includes('closed'), 'the probe socket to close');
    expect(events).toEqual(['accepted', 'closed']);
    expect(await tcpConnectProbe({ host: '127.0.0.1', port: await deadPort() }, 1_000)).toBe(false);
  });
});

describe('outlier detection: connect probes against a real port', () => {
  it('restores an endpoint that refused connects within the probe interval once it listens again; it gets traffic', async () => {
    const list = await startServers(3);
    let servers: (TestServer | undefined)[] = list;
    cleanup.push(() => Promise.all(servers.map((s) => s?.close())).then(() => undefined));
    const clock = manualClock(0);
    const mesh = new MeshClient({
      clock,
      random: seededRandom(11),
      services: {
        // Defaults otherwise: consecutive5xx 5 ejects, base ejection time 30 s; the breaker is off so
        // that only the detector decides.
        s: { endpoints: list.map((s) => s.url), circuitBreaker: false },
      },
    });
    cleanup.push(() => mesh.close());
    const deadUrl = list[1]!.url;
    const deadPortNumber = list[1]!.port;
    const health: string[] = [];
    mesh.on('health', (e: HealthEvent) => {
      if (e.endpoint === deadUrl && e.type !== 'endpoint-added') health.push(`${clock.now()}:${e.type}: ${e.reason}`);
    });
    const get = async (): Promise<number | string> => {
      try {
        const res = await mesh.request('http://s/x');
        await res.body.dump();
        return res.statusCode;
      } catch (e) {
        return isMeshError(e) ? e.code : String(e);
      }
    };

    await list[1]!.close();
    servers = [list[0], undefined, list[2]];
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 40 && health.length === 0; i++) statuses.push(await get());
    // Every request succeeded (the refused attempts were requeued), and the dead endpoint was ejected.
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(health).toEqual(['0:endpoint-ejected: 5 consecutive 5xx or transport failures; for 30000 ms or until a connect probe succeeds']);
    expect(mesh.snapshot().services.s!.endpoints[1]).toMatchObject({ outlier: { ejected: true, timesEjected: 1, probing: true } });

    // 500 ms: the first probe meets the closed port; the next is scheduled once its answer is in.
    const pending = clock.pending;
    clock.advance(500);
    expect(clock.pending).toBe(pending - 1);
    await until(() => clock.pending === pending, 'the failed probe to schedule the next');
    expect(health).toHaveLength(1);

    // The endpoint comes back on its port; the second probe, 1 s later, restores it.
    const revived = await startServer('s1', undefined, deadPortNumber);
    servers = [list[0], revived, list[2]];
    clock.advance(999);
    expect(health).toHaveLength(1);
    clock.advance(1);
    await until(() => health.length === 2, 'the probe to restore the endpoint');
    expect(health[1]).toBe('1500:endpoint-restored: connect probe succeeded');
    expect(mesh.snapshot().services.s!.endpoints[1]).toMatchObject({ outlier: { ejected: false, timesEjected: 1 } });
    expect(mesh.snapshot().services.s!.usableEndpoints).toBe(3);

    for (let i = 0; i < 30; i++) expect(await get()).toBe(200);
    expect(revived.requests.length).toBeGreaterThanOrEqual(5);

    // close() leaves no timer behind: no probe can run afterwards.
    await mesh.close();
    expect(clock.pending).toBe(0);
  });

  it('stops probing when the mesh closes', async () => {
    const list = await startServers(2);
    cleanup.push(() => Promise.all(list.slice(0, 1).map((s) => s.close())).then(() => undefined));
    const clock = manualClock(0);
    const mesh = new MeshClient({
      clock,
      random: seededRandom(12),
      services: { s: { endpoints: list.map((s) => s.url), circuitBreaker: false } },
    });
    const health: string[] = [];
    mesh.on('health', (e: HealthEvent) => {
      if (e.type === 'endpoint-ejected' || e.type === 'endpoint-restored') health.push(e.type);
    });
    await list[1]!.close();
    for (let i = 0; i < 40 && health.length === 0; i++) {
      const res = await mesh.request('http://s/x');
      await res.body.dump();
    }
    expect(health).toEqual(['endpoint-ejected']);
    // A listener on the dead port would see any probe that still ran.
    let connections = 0;
    const listener = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => listener.listen(list[1]!.port, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => listener.close(() => r())));
    await mesh.close();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(connections).toBe(0);
    expect(health).toEqual(['endpoint-ejected']);
  });

  it('the refused connect that ejects its endpoint is still requeued to the endpoint left (with retry: false, no clock wait)', async () => {
    const list = await startServers(2);
    cleanup.push(() => list[0]!.close());
    const clock = manualClock(0);
    const mesh = new MeshClient({
      clock,
      random: seededRandom(12),
      services: { s: { endpoints: list.map((s) => s.url), circuitBreaker: false, retry: false } },
    });
    cleanup.push(() => mesh.close());
    const requeues: number[] = [];
    const ejected: number[] = [];
    let requests = 0;
    mesh.on('metric', (e) => {
      if (e.type === 'retry' && e.reason === 'requeue') requeues.push(requests + 1);
      if (e.type === 'request') requests++;
    });
    mesh.on('health', (e: HealthEvent) => {
      if (e.type === 'endpoint-ejected') ejected.push(requests + 1);
    });
    await list[1]!.close();
    for (let i = 0; i < 20; i++) {
      const res = await mesh.request('http://s/x');
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    // The fifth refused connect ejects the endpoint, during that request: it is requeued all the same.
    expect(ejected).toHaveLength(1);
    expect(requeues).toHaveLength(5);
    expect(requeues.at(-1)).toBe(ejected[0]);
  });
});
