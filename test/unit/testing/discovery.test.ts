import { describe, expect, it } from 'vitest';
import {
  dnsDiscovery,
  fileDiscovery,
  registerDiscoveryProvider,
  type ConfigSource,
  type DiscoveryProvider,
  type DnsResolver,
  type MeshClientOptions,
} from '../../../src/index.js';
import { createTestMesh, type TestMesh } from '../../../src/testing/index.js';

async function hits(t: TestMesh, service: string, n: number): Promise<string[]> {
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(await (await t.mesh.request(`http://${service}/`)).body.text());
  return [...out].sort();
}

/** Every health event but endpoint-added/removed, as `type service source reason?`. */
function discoveryEvents(t: TestMesh): string[] {
  return t.log.timeline
    .filter((e) => e.channel === 'health' && String((e.event as { type: string }).type).startsWith('discovery-'))
    .map((e) => {
      const ev = e.event as { type: string; service: string; source?: string };
      return `${ev.type} ${ev.service} ${ev.source}`;
    });
}

/** Real providers that count what the kit must never do with them. */
function spies() {
  const counts = { created: 0, watched: 0, dnsQueries: 0 };
  const instance: DiscoveryProvider = {
    source: 'spy-instance',
    watch() {
      counts.watched++;
      throw new Error('a real provider was watched');
    },
    close() {},
  };
  registerDiscoveryProvider('kit-spy', {
    create() {
      counts.created++;
      return instance;
    },
  });
  const resolver: DnsResolver = {
    resolve4: () => {
      counts.dnsQueries++;
      return Promise.reject(new Error('a real DNS query was made'));
    },
  } as unknown as DnsResolver;
  return { counts, instance, resolver };
}

/** Freezes plain objects and arrays all the way down (provider instances are left alone). */
function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype)) {
    for (const v of Object.values(value as object)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function endpointUrls(t: TestMesh, service: string): string[] {
  return t.mesh.snapshot().services[service]!.endpoints.map((e) => e.url as string);
}

describe('fake discovery is a real provider fed through the registry', () => {
  it('replaces dnsDiscovery, fileDiscovery, specs and provider instances of a production config; none is ever called', async () => {
    const { counts, instance, resolver } = spies();
    const production: MeshClientOptions = deepFreeze({
      discovery: dnsDiscovery({ resolver, hostname: (s) => `${s}.svc.cluster.local` }),
      services: {
        orders: {},                                                              // top-level dns
        payments: { discovery: fileDiscovery('/nonexistent/endpoints.json') },  // a file that does not exist
        ledger: { discovery: [{ type: 'kit-spy' }, instance] },                 // a spec and an instance
        users: { discovery: { type: 'dns', hostname: 'users.invalid' }, endpoints: ['http://10.9.0.1:8080'] },
        static: { endpoints: ['http://10.8.0.1:8080'] },
      },
    });
    const before = { ...production, services: { ...production.services } };
    const t = createTestMesh(production);
    await t.clock.advance(60_000);   // any refresh timer a real provider would have set would fire now

    expect(counts).toEqual({ created: 0, watched: 0, dnsQueries: 0 });
    // The user's object is not touched (it is frozen: a write would have thrown).
    expect(production).toEqual(before);
    expect(production.services!.ledger!.discovery).toEqual([{ type: 'kit-spy' }, instance]);

    const sources = Object.fromEntries(
      Object.entries(t.mesh.snapshot().services).map(([name, s]) => [name, s.discovery?.sources.map((x) => `${x.source}:${x.state}`)]),
    );
    expect(sources).toEqual({
      orders: ['fake:pending'],
      payments: ['fake:pending'],
      ledger: ['fake:pending'],
      users: ['fake:pending', 'config:ok'],
      static: undefined,
    });
    // Until the first push, discovery-only services have no endpoints; configured ones serve.
    expect(endpointUrls(t, 'orders')).toEqual([]);
    expect(endpointUrls(t, 'users')).toEqual(['http://10.9.0.1:8080']);

    for (const n of [1, 2, 3]) t.endpoint(`http://10.0.0.${n}:8080`).reply(200, `e${n}`);
    t.endpoint('http://10.9.0.1:8080').reply(200, 'e9');
    await t.discovery.push('orders', ['http://10.0.0.1:8080', { address: '10.0.0.2', port: 8080 }]);
    await t.discovery.push('payments', [{ key: 'payments.0', endpoint: 'http://10.0.0.3:8080' }]);
    await t.discovery.push('ledger', ['http://10.0.0.1:8080']);
    expect(await hits(t, 'orders', 4)).toEqual(['e1', 'e2']);
    expect(await hits(t, 'payments', 2)).toEqual(['e3']);
    expect(await hits(t, 'ledger', 2)).toEqual(['e1']);
    // `users` waits for its first answer, as it would wait for DNS: ready() once the fake answered everywhere.
    const ready = t.mesh.ready();
    t.discovery.fail('users', new Error('no DNS in tests'));
    expect(await ready).toBe(true);
    expect(await hits(t, 'users', 2)).toEqual(['e9']);

    // A config update (the kit's or the mesh's own) gets the same swap.
    await t.updateConfig({ ...production, services: { ...production.services, orders: { discovery: { type: 'kit-spy' } } } });
    await t.mesh.updateConfig({ ...production, discovery: fileDiscovery('/nonexistent/other.json') });
    await t.clock.advance(60_000);
    expect(counts).toEqual({ created: 0, watched: 0, dnsQueries: 0 });
    expect(await hits(t, 'orders', 4)).toEqual(['e1', 'e2']);   // the pushed set carries over
    expect(t.mesh.snapshot().version).toBe(3);
    expect(discoveryEvents(t)).toEqual(['discovery-failed users fake']);
    await t.close();
  });

  it('configs from mesh.watchConfig get the swap too', async () => {
    const { counts } = spies();
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } });
    const source: ConfigSource = {
      name: 'test-source',
      watch(listener) {
        listener.update({ discovery: { type: 'kit-spy' }, services: { orders: {}, users: { discovery: fileDiscovery('/nonexistent.json') } } });
        return () => {};
      },
    };
    await t.mesh.watchConfig(source);
    expect(counts.created).toBe(0);
    expect(t.mesh.snapshot().version).toBe(2);
    t.endpoint('http://10.0.0.5:8080').reply(200, 'e5');
    await t.discovery.push('users', ['http://10.0.0.5:8080']);
    expect(await hits(t, 'users', 2)).toEqual(['e5']);
    expect(t.mesh.snapshot().services.orders!.discovery?.sources.map((s) => s.source)).toEqual(['fake']);
    await t.close();
  });

  it('an invalid discovery option is rejected whole by the mesh, naming the path, and nothing is swapped in', async () => {
    const { counts } = spies();
    expect(() => createTestMesh({ services: { orders: { discovery: { type: 'dns', bogus: 1 } } } })).toThrow(
      expect.objectContaining({ code: 'MESH_CONFIG_INVALID', issues: [expect.objectContaining({ path: 'services.orders.discovery.bogus' })] }),
    );
    const t = createTestMesh({ services: { orders: { discovery: { type: 'kit-spy' } } } });
    await expect(t.updateConfig({ discovery: { type: 'nope' }, services: { orders: {} } })).rejects.toMatchObject({
      code: 'MESH_CONFIG_INVALID',
      issues: [{ path: 'discovery.type' }],
    });
    expect(t.mesh.snapshot().version).toBe(1);
    expect(counts.created).toBe(0);
    await t.close();
  });

  it('push, fail and recover go through the registry: last known good, empty sets ignored, bad entries rejected alone', async () => {
    const t = createTestMesh({ discovery: dnsDiscovery(), services: { orders: {} } });
    for (const n of [1, 2, 3]) t.endpoint(`http://10.0.0.${n}:8080`).reply(200, `e${n}`);
    const ready = t.mesh.ready();

    await t.discovery.push('orders', ['http://10.0.0.1:8080', 'http://10.0.0.2:8080']);
    expect(await ready).toBe(true);
    expect(await hits(t, 'orders', 4)).toEqual(['e1', 'e2']);

    t.discovery.fail('orders', new Error('registry down'));
    expect(t.discovery.failure('orders')?.message).toBe('registry down');
    expect(await hits(t, 'orders', 4)).toEqual(['e1', 'e2']);   // last known good
    expect(t.mesh.health().services.orders!.discovery).toMatchObject({ active: null, sources: [{ source: 'fake', state: 'failed', error: 'registry down' }] });

    t.discovery.recover('orders');
    expect(t.discovery.failure('orders')).toBeUndefined();

    await t.discovery.push('orders', []);                         // ignored: not applied
    expect(await hits(t, 'orders', 4)).toEqual(['e1', 'e2']);

    // A bad entry is rejected alone; the rest applies.
    await t.discovery.push('orders', ['not a url', 'http://10.0.0.3:8080']);
    expect(await hits(t, 'orders', 4)).toEqual(['e3']);
    expect(t.discovery.endpoints('orders')).toEqual(['not a url', 'http://10.0.0.3:8080']);

    t.discovery.fail('orders', new Error('again'));
    await t.discovery.push('orders', ['http://10.0.0.1:8080']);    // a push ends a failure
    expect(await hits(t, 'orders', 2)).toEqual(['e1']);

    expect(t.discovery.history.map((h) => `${h.kind} ${h.endpoints?.length ?? h.error?.message ?? ''}`.trim())).toEqual([
      'push 2',
      'fail registry down',
      'recover',
      'ignored-empty 0',
      'push 2',
      'fail again',
      'recover',
      'push 1',
    ]);
    const health = t.log.health.map((h) => [h.type, h.endpoint ?? h.reason]);
    expect(health).toEqual([
      ['endpoint-added', 'http://10.0.0.1:8080'],
      ['endpoint-added', 'http://10.0.0.2:8080'],
      ['discovery-failed', 'fake failed: registry down; keeping the last known good set (2 endpoints)'],
      ['discovery-recovered', 'fake is back'],
      ['discovery-rejected', 'fake reported no endpoints; ignored (set allowEmpty to apply an empty set)'],
      ['discovery-rejected', expect.stringMatching(/^fake 0: /)],
      ['endpoint-added', 'http://10.0.0.3:8080'],
      ['endpoint-removed', 'http://10.0.0.1:8080'],
      ['endpoint-removed', 'http://10.0.0.2:8080'],
      ['discovery-failed', 'fake failed: again; keeping the last known good set (1 endpoints)'],
      ['discovery-recovered', 'fake is back'],
      ['endpoint-added', 'http://10.0.0.1:8080'],
      ['endpoint-removed', 'http://10.0.0.3:8080'],
    ]);
    expect(t.log.transitions()).toEqual([]);
    await expect(t.discovery.push('nobody', [])).rejects.toThrow('no service "nobody" in the configuration (services: orders)');
    expect(() => t.discovery.fail('nobody')).toThrow('no service "nobody"');
    await t.close();
  });

  it('with allowEmpty, an empty set is applied', async () => {
    const t = createTestMesh({ discovery: dnsDiscovery(), services: { orders: {} } }, { discovery: { allowEmpty: true } });
    t.endpoint('http://10.0.0.1:8080').reply(200, 'e1');
    await t.discovery.push('orders', ['http://10.0.0.1:8080']);
    expect(await hits(t, 'orders', 2)).toEqual(['e1']);
    await t.discovery.push('orders', []);
    await expect(t.mesh.request('http://orders/')).rejects.toMatchObject({ code: 'MESH_NO_HEALTHY_ENDPOINT' });
    expect(t.discovery.history.map((h) => h.kind)).toEqual(['push', 'push']);
    expect(t.log.health.map((h) => `${h.type} ${h.endpoint}`)).toEqual([
      'endpoint-added http://10.0.0.1:8080',
      'endpoint-removed http://10.0.0.1:8080',
    ]);
    await t.close();
  });

  it('a service with static endpoints only: a push puts the fake first, the configured endpoints are the fallback', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } });
    for (const n of [1, 2, 3]) t.endpoint(`http://10.0.0.${n}:8080`).reply(200, `e${n}`);
    expect(await hits(t, 'orders', 4)).toEqual(['e1']);
    expect(t.mesh.snapshot().services.orders!.discovery).toBeUndefined();

    await t.discovery.push('orders', ['http://10.0.0.2:8080', 'http://10.0.0.3:8080']);
    expect(t.mesh.snapshot().version).toBe(2);   // adopting the service re-applied the config once
    expect(await hits(t, 'orders', 4)).toEqual(['e2', 'e3']);

    // A config update from the test keeps the fake in front and the pushed set.
    await t.updateConfig({ services: { orders: { endpoints: ['http://10.0.0.1:8080'], loadBalancer: 'random' } } });
    expect(t.mesh.snapshot().services.orders!.loadBalancer).toEqual({ policy: 'random' });
    expect(await hits(t, 'orders', 8)).toEqual(['e2', 'e3']);

    // Failing falls back to the next source, the configured endpoints (the registry's order rule).
    t.discovery.fail('orders', new Error('down'));
    expect(await hits(t, 'orders', 4)).toEqual(['e1']);
    t.discovery.recover('orders');
    expect(await hits(t, 'orders', 16)).toEqual(['e2', 'e3']);   // random balancer: enough draws to see both
    // So does an ignored empty set.
    await t.discovery.push('orders', []);
    expect(await hits(t, 'orders', 4)).toEqual(['e1']);

    expect(t.mesh.snapshot().services.orders!.discovery?.sources.map((s) => s.source)).toEqual(['fake', 'config']);
    expect(t.mesh.snapshot().version).toBe(3);
    expect(t.log.health.filter((h) => h.type.startsWith('discovery-')).map((h) => h.reason)).toEqual([
      'fake failed: down; using config (1 endpoints)',
      'fake is back',
      'fake reported no endpoints; ignored (set allowEmpty to apply an empty set)',
    ]);
    await t.close();
  });
});
