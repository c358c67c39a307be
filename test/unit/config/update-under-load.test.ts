import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, type MeshConfig } from '../../../src/index.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

describe('updateConfig under load', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    // Each answer takes a few milliseconds, so requests are in flight across every update.
    servers = await startServers(3, 's', (_req, res) => {
      setTimeout(() => res.end('ok'), 2);
    });
  });
  afterAll(() => Promise.all(servers.map((s) => s.close())));

  it('200 concurrent callers, 100 updates in a row: 0 failed requests, every update applied', async () => {
    const sets = [
      [0, 1],
      [1, 2],
      [0, 2],
      [0, 1, 2],
    ];
    const config = (i: number): MeshConfig => ({
      services: {
        orders: {
          endpoints: sets[i % sets.length]!.map((s) => ({ url: servers[s]!.url, labels: { version: s === 2 ? 'v2' : 'v1' } })),
          loadBalancer: i % 2 === 0 ? 'round-robin' : 'least-request',
          timeout: { perTryMs: 5_000 + i },
          routes: i % 3 === 0 ? [{ split: [{ weight: 100 - i }, { weight: i + 1 }] }] : [],
        },
      },
    });
    const mesh = new MeshClient(config(0));
    const versions: number[] = [];
    mesh.on('config', (e) => {
      if (e.type === 'applied') versions.push(e.version);
    });
    let running = true;
    let ok = 0;
    let inFlight = 0;
    const failures: string[] = [];
    const caller = async () => {
      while (running) {
        inFlight++;
        try {
          const res = await mesh.request('http://orders/work');
          await res.body.text();
          if (res.statusCode === 200) ok++;
          else failures.push(String(res.statusCode));
        } catch (error) {
          failures.push(String(error));
        }
        inFlight--;
      }
    };
    const callers = Array.from({ length: 200 }, caller);
    const inFlightAtUpdates: number[] = [];
    for (let i = 1; i <= 100; i++) {
      // At least 100 requests complete under each config before the next swap.
      const before = ok + failures.length;
      while (ok + failures.length < before + 100) await sleep(1);
      inFlightAtUpdates.push(inFlight);
      await mesh.updateConfig(config(i));
    }
    running = false;
    await Promise.all(callers);
    await mesh.close();
    console.log(`100 updates under 200 callers: ${ok} requests ok, ${failures.length} failed, in flight at each swap: min ${Math.min(...inFlightAtUpdates)}`);
    expect(failures).toEqual([]);
    // Every swap happened with requests in flight (200 callers: nearly all of them).
    expect(Math.min(...inFlightAtUpdates)).toBeGreaterThan(100);
    expect(versions).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
    expect(ok).toBeGreaterThanOrEqual(100 * 100);
    expect(servers.reduce((n, s) => n + s.requests.length, 0)).toBe(ok);
  }, 60_000);
});
