import { describe, expect, it } from 'vitest';
import { createTestMesh } from '../../../src/testing/index.js';

async function hits(t: ReturnType<typeof createTestMesh>, n: number): Promise<string[]> {
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(await (await t.mesh.request('http://orders/')).body.text());
  return [...out].sort();
}

describe('fake discovery', () => {
  it('pushes endpoint sets into the mesh; failures and empty sets keep the last good set; bad sets are rejected whole', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } });
    for (const n of [1, 2, 3]) t.endpoint(`http://10.0.0.${n}:8080`).reply(200, `e${n}`);
    expect(await hits(t, 4)).toEqual(['e1']);

    await t.discovery.push('orders', ['http://10.0.0.2:8080', 'http://10.0.0.3:8080']);
    expect(await hits(t, 4)).toEqual(['e2', 'e3']);

    t.discovery.fail('orders', new Error('registry down'));
    expect(t.discovery.failure('orders')?.message).toBe('registry down');
    expect(await hits(t, 4)).toEqual(['e2', 'e3']);

    await t.discovery.push('orders', []);
    expect(await hits(t, 4)).toEqual(['e2', 'e3']);

    await expect(t.discovery.push('orders', ['not a url'])).rejects.toMatchObject({
      code: 'MESH_CONFIG_INVALID',
      issues: [{ path: 'services.orders.endpoints.0' }],
    });
    expect(t.discovery.endpoints('orders')).toEqual(['http://10.0.0.2:8080', 'http://10.0.0.3:8080']);
    expect(await hits(t, 4)).toEqual(['e2', 'e3']);

    // A config update from the test keeps the discovered set.
    await t.updateConfig({ services: { orders: { endpoints: ['http://10.0.0.1:8080'], loadBalancer: 'random' } } });
    expect(t.mesh.snapshot().services.orders!.loadBalancer).toEqual({ policy: 'random' });
    expect(await hits(t, 8)).toEqual(['e2', 'e3']);

    await t.discovery.push('orders', [], { allowEmpty: true });
    await expect(t.mesh.request('http://orders/')).rejects.toMatchObject({ code: 'MESH_NO_HEALTHY_ENDPOINT' });

    expect(t.discovery.history.map((h) => `${h.kind} ${h.endpoints?.length ?? ''}`.trim())).toEqual([
      'push 2',
      'fail',
      'recover',
      'ignored-empty 0',
      'push 0',
    ]);
    expect(t.log.transitions().length).toBe(0);
    expect(t.log.health.map((h) => `${h.type} ${h.endpoint}`)).toEqual([
      'endpoint-added http://10.0.0.1:8080',
      'endpoint-added http://10.0.0.2:8080',
      'endpoint-added http://10.0.0.3:8080',
      'endpoint-removed http://10.0.0.1:8080',
      'endpoint-removed http://10.0.0.2:8080',
      'endpoint-removed http://10.0.0.3:8080',
    ]);
    await t.close();
  });
});
