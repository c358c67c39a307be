import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient } from '../../src/index.js';
import { startServers, type TestServer } from '../helpers/servers.js';

describe('smoke', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await startServers(2);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('reaches a service by name', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: servers.map((s) => s.url) } } });
    const res = await mesh.request('http://orders/x');
    expect(res.statusCode).toBe(200);
    expect(['s0', 's1']).toContain(await res.body.text());
    await mesh.close();
  });
});
