import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, MeshError, isMeshError, type MetricEvent } from '../../../src/index.js';
import { startServer, startServers, type TestServer } from '../../helpers/servers.js';

describe('round robin', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await startServers(3);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('is exact over 3 endpoints, sequentially and concurrently', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: servers.map((s) => s.url) } } });
    const order: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await mesh.request('http://orders/');
      order.push(await res.body.text());
    }
    // Strict rotation: every window of 3 consecutive picks covers the 3 endpoints.
    for (let i = 0; i + 3 <= order.length; i++) expect(new Set(order.slice(i, i + 3)).size).toBe(3);
    await Promise.all(
      Array.from({ length: 270 }, async () => {
        const res = await mesh.request('http://orders/');
        await res.body.text();
      }),
    );
    expect(servers.map((s) => s.requests.length)).toEqual([100, 100, 100]);
    await mesh.close();
  });
});

describe('egress', () => {
  let outside: TestServer;
  beforeAll(async () => {
    outside = await startServer('outside');
  });
  afterAll(async () => {
    await outside.close();
  });

  it("'deny' refuses unknown hosts with MESH_UNKNOWN_SERVICE on every door, sending nothing", async () => {
    const mesh = new MeshClient({ egress: 'deny', services: {} });
    const url = `${outside.url}/x`;
    const viaFetch = await mesh.fetch(url).then(() => undefined, (e: unknown) => e);
    expect(viaFetch).toBeInstanceOf(MeshError);
    expect((viaFetch as MeshError).code).toBe('MESH_UNKNOWN_SERVICE');
    const viaRequest = await mesh.request(url).then(() => undefined, (e: unknown) => e);
    expect(isMeshError(viaRequest, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    const viaDispatcher = await undiciFetch(url, { dispatcher: mesh.dispatcher }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Plain fetch wraps dispatcher errors in TypeError('fetch failed'), the MeshError is its cause.
    expect(viaDispatcher).toBeInstanceOf(TypeError);
    expect(isMeshError((viaDispatcher as TypeError).cause, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    expect(outside.requests).toHaveLength(0);
    await mesh.close();
  });

  it("'allow' (the default) sends unknown hosts directly and still observes them", async () => {
    const metrics: MetricEvent[] = [];
    const mesh = new MeshClient({ observers: [{ onMetric: (e) => metrics.push(e) }] });
    const res = await mesh.request(`${outside.url}/direct`);
    expect(await res.body.text()).toBe('outside');
    expect(outside.requests.at(-1)!.headers.host).toBe(`127.0.0.1:${outside.port}`);
    const request = metrics.find((m) => m.type === 'request');
    expect(request).toMatchObject({ service: '127.0.0.1', egress: true, status: 200, attempts: 1 });
    await mesh.close();
  });
});
