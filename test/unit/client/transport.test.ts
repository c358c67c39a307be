import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { MeshClient } from '../../../src/index.js';

describe('transport option', () => {
  it('carries endpoint and egress traffic over the given dispatchers (MockAgent), and leaves them open on close', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agent.get('http://10.9.0.1:8080').intercept({ path: '/a', method: 'GET' }).reply(200, 'from endpoint 1');
    agent.get('http://10.9.0.2:8080').intercept({ path: '/a', method: 'GET' }).reply(200, 'from endpoint 2');
    agent.get('https://api.example.com').intercept({ path: '/v1', method: 'GET' }).reply(201, 'egress');
    const origins: string[] = [];
    const mesh = new MeshClient({
      services: { orders: { endpoints: ['http://10.9.0.1:8080', 'http://10.9.0.2:8080'] } },
      transport: (origin) => {
        origins.push(origin);
        return agent.get(origin);
      },
    });
    const bodies = new Set<string>();
    for (let i = 0; i < 2; i++) bodies.add(await (await mesh.request('http://orders/a')).body.text());
    expect([...bodies].sort()).toEqual(['from endpoint 1', 'from endpoint 2']);
    const egress = await mesh.fetch('https://api.example.com/v1');
    expect([egress.status, await egress.text()]).toEqual([201, 'egress']);
    expect(origins.sort()).toEqual(['http://10.9.0.1:8080', 'http://10.9.0.2:8080', 'https://api.example.com']);
    await mesh.close();
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('turns a mock with no matching interceptor into a MeshError with the cause, not a crash', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const mesh = new MeshClient({
      services: { orders: { endpoints: ['http://10.9.0.1:8080'] } },
      transport: (origin) => agent.get(origin),
    });
    const err = await mesh.request('http://orders/nothing-here').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MESH_UPSTREAM_FAILURE', cause: { code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' } });
    await mesh.close();
    await agent.close();
  });

  it('rejects a transport that is not a function', () => {
    expect(() => new MeshClient({ transport: 'mock' as never })).toThrow(/transport: expected a function/);
  });
});
