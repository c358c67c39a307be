import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, dnsDiscovery } from '../../src/index.js';
import { startServers, type TestServer } from '../helpers/servers.js';
import { freePort, startDnsmasq, until, type Dnsmasq } from './helpers/engines.js';

/** Two servers on the same port, on 127.0.0.1 and 127.0.0.2 (A records carry no port). */
async function pairOnOnePort(): Promise<{ port: number; servers: Server[] }> {
  for (;;) {
    const port = await freePort();
    const servers: Server[] = [];
    try {
      for (const host of ['127.0.0.1', '127.0.0.2']) {
        const server = createServer((_req, res) => res.end(host));
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, resolve);
        });
        servers.push(server);
      }
      return { port, servers };
    } catch {
      for (const s of servers) s.close();
    }
  }
}

describe('DNS discovery against a real dnsmasq', () => {
  const TTL = 2;
  let dns: Dnsmasq;
  let srv: TestServer[];
  let pair: { port: number; servers: Server[] };
  beforeAll(async () => {
    srv = await startServers(2, 'srv');
    pair = await pairOnOnePort();
    dns = await startDnsmasq({
      ttlSeconds: TTL,
      hosts: ['127.0.0.1 orders.mesh.test', '127.0.0.1 a.mesh.test', '127.0.0.1 b.mesh.test'],
      srv: [`_http._tcp.orders.mesh.test,a.mesh.test,${srv[0]!.port},0,30`, `_http._tcp.orders.mesh.test,b.mesh.test,${srv[1]!.port},1,10`],
    });
  });
  afterAll(async () => {
    await dns?.stop();
    await Promise.all((srv ?? []).map((s) => s.close()));
    for (const s of pair?.servers ?? []) s.close();
  });

  it('reads SRV records: port, weight and priority of each target', async () => {
    const mesh = new MeshClient({
      services: {
        orders: { discovery: dnsDiscovery({ type: 'SRV', hostname: '_http._tcp.orders.mesh.test', servers: [dns.server] }) },
      },
    });
    await until(() => mesh.snapshot().services.orders!.endpoints.length === 2, 'the SRV answer');
    const endpoints = Object.fromEntries(mesh.snapshot().services.orders!.endpoints.map((e) => [e.url, [e.weight, e.priority]]));
    expect(endpoints).toEqual({ [srv[0]!.url]: [30, 0], [srv[1]!.url]: [10, 1] });
    const body = await (await mesh.request('http://orders/')).body.text();
    expect(['srv0', 'srv1']).toContain(body);
    await mesh.close();
  });

  it('picks up an A record change after its TTL', async () => {
    const mesh = new MeshClient({
      services: {
        orders: { discovery: dnsDiscovery({ hostname: 'orders.mesh.test', port: pair.port, servers: [dns.server], minTtlMs: 200 }) },
      },
    });
    const url = (mesh: MeshClient) => mesh.snapshot().services.orders!.endpoints.map((e) => e.url).join(',');
    await until(() => url(mesh) === `http://127.0.0.1:${pair.port}`, 'the first answer');
    expect(await (await mesh.request('http://orders/')).body.text()).toBe('127.0.0.1');
    await dns.setHosts(['127.0.0.2 orders.mesh.test', '127.0.0.1 a.mesh.test', '127.0.0.1 b.mesh.test']);
    const changedAt = Date.now();
    const ms = await until(() => url(mesh) === `http://127.0.0.2:${pair.port}`, 'the changed record', TTL * 1000 * 2 + 2_000);
    console.log(`DNS change picked up ${ms} ms after the record changed (TTL ${TTL} s, refresh jitter up to 10%)`);
    expect(Date.now() - changedAt).toBeLessThanOrEqual(TTL * 1000 * 1.1 + 500);
    expect(await (await mesh.request('http://orders/')).body.text()).toBe('127.0.0.2');
    await mesh.close();
  });
});
