import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, isMeshError, type MeshConfig } from '../../../src/index.js';
import { egressAllowed } from '../../../src/security/egress.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

describe('egress allow-list', () => {
  let outside: TestServer;
  beforeAll(async () => {
    outside = await startServer('outside');
  });
  afterAll(() => outside.close());

  it('matches exact hosts, IP addresses and *.domain (strictly below the domain)', () => {
    const patterns = ['api.stripe.com', '*.example.org', '127.0.0.1', '::1'];
    const table = ['api.stripe.com', 'stripe.com', 'x.api.stripe.com', 'a.example.org', 'a.b.example.org', 'example.org', 'badexample.org', '127.0.0.1', '[::1]', 'api.stripe.com.'];
    expect(table.map((h) => [h, egressAllowed(h, patterns)])).toEqual([
      ['api.stripe.com', true],
      ['stripe.com', false],
      ['x.api.stripe.com', false],
      ['a.example.org', true],
      ['a.b.example.org', true],
      ['example.org', false],
      ['badexample.org', false],
      ['127.0.0.1', true],
      ['[::1]', true],
      ['api.stripe.com.', true],
    ]);
  });

  it('lets listed hosts through and refuses the rest with MESH_UNKNOWN_SERVICE', async () => {
    const mesh = new MeshClient({ egress: { mode: 'deny', allow: ['127.0.0.1'] } });
    expect(mesh.snapshot().egress).toBe('deny');
    const res = await mesh.request(`${outside.url}/x`);
    expect(await res.body.text()).toBe('outside');
    const error = await mesh.request(`http://localhost:${outside.port}/x`).catch((e: unknown) => e);
    expect(isMeshError(error, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    expect((error as Error).message).toContain('allow-list');
    await mesh.close();
  });

  it('keeps "allow" and "deny" valid and switches with updateConfig', async () => {
    const mesh = new MeshClient({ egress: 'deny' });
    expect(isMeshError(await mesh.request(`${outside.url}/x`).catch((e: unknown) => e), 'MESH_UNKNOWN_SERVICE')).toBe(true);
    await mesh.updateConfig({ egress: { allow: ['127.0.0.1'] } });
    expect((await mesh.request(`${outside.url}/x`)).statusCode).toBe(200);
    await mesh.updateConfig({ egress: 'allow' });
    expect((await mesh.request(`http://localhost:${outside.port}/x`)).statusCode).toBe(200);
    await mesh.close();
  });

  it('a redirect from a service cannot take a request past the egress policy', async () => {
    const redirector = await startServer('redirector', (_req, res) => {
      res.writeHead(302, { location: `http://localhost:${outside.port}/leak` });
      res.end();
    });
    const mesh = new MeshClient({ services: { a: { endpoints: [redirector.url] } }, egress: { allow: ['127.0.0.1'] } });
    const before = outside.requests.length;
    const error = await mesh.fetch('http://a/start').catch((e: unknown) => e);
    expect(isMeshError(error, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    expect(outside.requests.length).toBe(before);
    await mesh.close();
    await redirector.close();
  });

  it('rejects bad allow-lists with paths', () => {
    let error: unknown;
    try {
      new MeshClient({ egress: { mode: 'allow', allow: ['https://api.stripe.com', 'ok.example', 7, 'a*.example.org'], extra: 1 } as unknown as MeshConfig['egress'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as MeshConfigError).issues.map((i) => i.path).sort()).toEqual([
      'egress.allow.0',
      'egress.allow.2',
      'egress.allow.3',
      'egress.extra',
      'egress.mode',
    ]);
  });
});
