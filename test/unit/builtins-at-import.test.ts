import { describe, expect, it, vi } from 'vitest';

// Each test loads a fresh copy of the package, so nothing else (no client,
// no config) has run before the lists are read.
async function freshProxyless() {
  vi.resetModules();
  return import('../../src/index.js');
}

describe('built-in balancers and discovery providers', () => {
  it('are registered as soon as proxyless is imported, before any client exists', async () => {
    const p = await freshProxyless();
    expect(p.listLoadBalancers().sort()).toEqual(
      ['least-request', 'maglev', 'peak-ewma', 'random', 'ring-hash', 'round-robin', 'weighted-round-robin'].sort(),
    );
    expect(p.listDiscoveryProviders().sort()).toEqual(['dns', 'file', 'static']);
    expect(p.getLoadBalancer('round-robin')?.create).toBeTypeOf('function');
    expect(p.getDiscoveryProvider('file')?.create).toBeTypeOf('function');
  });

  it("a user's registration of a built-in name replaces it, and creating a client does not put the built-in back", async () => {
    const p = await freshProxyless();
    const builtin = p.getLoadBalancer('round-robin');
    const mine = { create: () => ({ update() {}, pick: () => undefined }) };
    p.registerLoadBalancer('round-robin', mine);
    const staticType = { create: () => p.staticDiscovery({}) };
    p.registerDiscoveryProvider('static', staticType);
    const mesh = new p.MeshClient({ services: { orders: { endpoints: ['http://127.0.0.1:1'], loadBalancer: 'round-robin' } } });
    await mesh.close();
    expect(p.getLoadBalancer('round-robin')).toBe(mine);
    expect(p.getLoadBalancer('round-robin')).not.toBe(builtin);
    expect(p.getDiscoveryProvider('static')).toBe(staticType);
  });
});
