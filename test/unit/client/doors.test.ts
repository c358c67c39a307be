import { fetch as undiciFetch, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, MeshError, isMeshError, type MetricEvent } from '../../../src/index.js';
import { startServer, startServers, type TestServer } from '../../helpers/servers.js';

describe('three doors, one pipeline', () => {
  let orders: TestServer[];
  let users: TestServer[];
  let mesh: MeshClient;
  const metrics: MetricEvent[] = [];

  beforeAll(async () => {
    orders = await startServers(2, 'orders-');
    users = await startServers(1, 'users-');
    mesh = new MeshClient({
      services: {
        orders: { endpoints: orders.map((s) => s.url) },
        users: { endpoints: users.map((s) => s.url) },
      },
      observers: [{ onMetric: (e) => metrics.push(e) }],
    });
  });
  afterAll(async () => {
    await mesh.close();
    await Promise.all([...orders, ...users].map((s) => s.close()));
  });

  it('mesh.fetch returns a WHATWG Response from the named service', async () => {
    const res = await mesh.fetch('http://users/profile/7?x=1');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('users-0');
    const seen = users[0]!.requests.at(-1)!;
    expect(seen.url).toBe('/profile/7?x=1');
    expect(seen.headers.host).toBe('users');
  });

  it('mesh.request returns undici ResponseData', async () => {
    const res = await mesh.request('http://orders/orders/42', { method: 'POST', body: 'hello' });
    expect(res.statusCode).toBe(200);
    expect(['orders-0', 'orders-1']).toContain(await res.body.text());
    const all = [...orders[0]!.requests, ...orders[1]!.requests];
    expect(all.at(-1)?.method === 'POST' || all.some((r) => r.method === 'POST' && r.body === 'hello')).toBe(true);
  });

  it('fetch(url, { dispatcher }) routes through the mesh', async () => {
    const before = users[0]!.requests.length;
    const res = await undiciFetch('http://users/a', { dispatcher: mesh.dispatcher });
    expect(await res.text()).toBe('users-0');
    expect(users[0]!.requests.length).toBe(before + 1);
  });

  it('undici.request(url, { dispatcher }) routes through the mesh', async () => {
    const res = await undiciRequest('http://users/b', { dispatcher: mesh.dispatcher });
    expect(await res.body.text()).toBe('users-0');
    expect(users[0]!.requests.at(-1)!.url).toBe('/b');
  });

  it('emits one request metric per logical request with its facts', async () => {
    metrics.length = 0;
    const res = await mesh.request('http://users/c');
    await res.body.text();
    const requests = metrics.filter((m) => m.type === 'request');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      type: 'request',
      service: 'users',
      endpoint: users[0]!.url,
      method: 'GET',
      status: 200,
      attempts: 1,
    });
    expect(requests[0]!.durationMs).toBeGreaterThan(0);
    expect(metrics.filter((m) => m.type === 'attempt')).toHaveLength(1);
  });

  it('passes 5xx responses through as responses, not errors', async () => {
    const failing = await startServer('bad', (_req, res) => {
      res.statusCode = 503;
      res.end('down');
    });
    const m = new MeshClient({ services: { bad: { endpoints: [failing.url] } } });
    try {
      const res = await m.request('http://bad/');
      expect(res.statusCode).toBe(503);
      expect(await res.body.text()).toBe('down');
    } finally {
      await m.close();
      await failing.close();
    }
  });

  it('refuses a raw dispatch whose path could leave the service', async () => {
    const before = users[0]!.requests.length;
    for (const path of ['//evil.example/x', 'http://evil.example/x', 'x']) {
      const outcome = await new Promise<unknown>((resolve) => {
        mesh.dispatcher.dispatch(
          { origin: 'http://users', path, method: 'GET' },
          {
            onRequestStart: () => {},
            onResponseStart: () => resolve('sent'),
            onResponseError: (_c, e) => resolve(e),
          },
        );
      });
      expect(isMeshError(outcome, 'MESH_INVALID_REQUEST')).toBe(true);
    }
    expect(users[0]!.requests.length).toBe(before);
  });

  it('reports transport failures as MeshError with the cause', async () => {
    const dead = await startServer('dead');
    const url = dead.url;
    await dead.close();
    const m = new MeshClient({ services: { gone: { endpoints: [url] } } });
    try {
      const err = await m.request('http://gone/').then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(MeshError);
      expect((err as MeshError).code).toBe('MESH_UPSTREAM_FAILURE');
      expect((err as MeshError).endpoint).toBe(url);
      expect(((err as MeshError).cause as { code?: string }).code).toBe('ECONNREFUSED');
      const ferr = await m.fetch('http://gone/').then(() => undefined, (e: unknown) => e);
      expect(isMeshError(ferr, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    } finally {
      await m.close();
    }
  });
});
