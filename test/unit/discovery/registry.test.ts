import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MeshClient,
  MeshConfigError,
  registerDiscoveryProvider,
  staticDiscovery,
  type DiscoveredEndpoint,
  type DiscoveryListener,
  type DiscoveryProvider,
  type HealthEvent,
} from '../../../src/index.js';
import { manualClock } from '../../helpers/clock.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

/** A provider the test drives by hand. */
function handProvider(source: string, allowEmpty = false) {
  const listeners = new Map<string, DiscoveryListener>();
  const log: string[] = [];
  const provider: DiscoveryProvider & {
    push(service: string, endpoints: readonly DiscoveredEndpoint[]): void;
    fail(service: string, message: string): void;
    log: string[];
  } = {
    source,
    allowEmpty,
    log,
    watch(service, listener) {
      log.push(`watch ${service}`);
      listeners.set(service, listener);
      return () => {
        log.push(`unwatch ${service}`);
        listeners.delete(service);
      };
    },
    close() {
      log.push('close');
    },
    push: (service, endpoints) => listeners.get(service)!.update(endpoints),
    fail: (service, message) => listeners.get(service)!.error(new Error(message)),
  };
  return provider;
}

function recorder(mesh: MeshClient): string[] {
  const events: string[] = [];
  mesh.on('health', (e: HealthEvent) => {
    events.push([e.type, e.service, e.endpoint ?? e.source ?? '', e.key ?? ''].filter(Boolean).join(' '));
  });
  return events;
}

async function bodies(mesh: MeshClient, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await mesh.request('http://orders/');
    out.push(await res.body.text());
  }
  return out;
}

describe('discovery registry', () => {
  let s: TestServer[];
  beforeAll(async () => {
    s = await startServers(3);
  });
  afterAll(async () => {
    await Promise.all(s.map((x) => x.close()));
  });

  it('applies pushed sets, emits added/removed and keeps endpoint state by URL', async () => {
    const p = handProvider('hand');
    const mesh = new MeshClient({ discovery: p, services: { orders: {} } });
    const events = recorder(mesh);
    await expect(mesh.request('http://orders/')).rejects.toMatchObject({ code: 'MESH_NO_HEALTHY_ENDPOINT' });
    p.push('orders', [s[0]!.url, { address: '127.0.0.1', port: s[1]!.port, weight: 2, labels: { v: '2' } }]);
    // Round robin honours the pushed weight (1:2): exact over two whole cycles.
    expect((await bodies(mesh, 6)).sort()).toEqual(['s0', 's0', 's1', 's1', 's1', 's1']);
    const before = mesh.snapshot().services.orders!.endpoints.find((e) => e.url === s[0]!.url)!;
    p.push('orders', [s[0]!.url, s[2]!.url]);
    const after = mesh.snapshot().services.orders!.endpoints.find((e) => e.url === s[0]!.url)!;
    expect(after.attempts).toBe(before.attempts); // same EndpointState: counters carried over
    expect(mesh.snapshot().services.orders!.endpoints.map((e) => e.url)).toEqual([s[0]!.url, s[2]!.url]);
    expect(events).toEqual([
      `endpoint-added orders ${s[0]!.url}`,
      `endpoint-added orders ${s[1]!.url}`,
      `endpoint-added orders ${s[2]!.url}`,
      `endpoint-removed orders ${s[1]!.url}`,
    ]);
    expect(mesh.snapshot().services.orders!.discovery).toEqual({
      active: 'hand',
      stale: false,
      sources: [{ source: 'hand', state: 'ok', endpoints: 2 }],
    });
    await mesh.close();
    expect(p.log).toEqual(['watch orders', 'unwatch orders', 'close']);
  });

  it('keeps the last known good set when the provider fails, and says so', async () => {
    const p = handProvider('hand');
    const mesh = new MeshClient({ discovery: p, services: { orders: {} } });
    const health: HealthEvent[] = [];
    mesh.on('health', (e) => health.push(e));
    p.push('orders', [s[0]!.url]);
    p.fail('orders', 'connection refused');
    expect((await bodies(mesh, 2))).toEqual(['s0', 's0']);
    expect(mesh.snapshot().services.orders!.discovery).toEqual({
      active: null,
      stale: true,
      sources: [{ source: 'hand', state: 'failed', endpoints: 1, error: 'connection refused' }],
    });
    p.push('orders', [s[1]!.url]);
    expect(await bodies(mesh, 1)).toEqual(['s1']);
    expect(health.map((e) => `${e.type} ${e.endpoint ?? e.source}`)).toEqual([
      `endpoint-added ${s[0]!.url}`,
      'discovery-failed hand',
      'discovery-recovered hand',
      `endpoint-added ${s[1]!.url}`,
      `endpoint-removed ${s[0]!.url}`,
    ]);
    expect(health[1]!.reason).toBe('hand failed: connection refused; keeping the last known good set (1 endpoints)');
    await mesh.close();
  });

  it('emits discovery-update and discovery-error metric events for every delivered set and failure', async () => {
    const p = handProvider('hand');
    const mesh = new MeshClient({ discovery: p, services: { orders: {} } });
    const metrics: string[] = [];
    mesh.on('metric', (e) => {
      if (e.type === 'discovery-update') metrics.push(`update ${e.service} ${e.provider} ${e.endpoints}`);
      if (e.type === 'discovery-error') metrics.push(`error ${e.service} ${e.provider} ${e.error}`);
    });
    p.push('orders', [s[0]!.url, s[1]!.url]);
    p.fail('orders', 'connection refused');
    p.push('orders', [s[1]!.url]);
    expect(metrics).toEqual(['update orders hand 2', 'error orders hand Error', 'update orders hand 1']);
    await mesh.close();
  });

  it('ignores an empty set unless allowEmpty, with an event', async () => {
    const strict = handProvider('strict');
    const lenient = handProvider('lenient', true);
    const mesh = new MeshClient({
      services: { orders: { discovery: strict }, users: { discovery: lenient } },
    });
    const events = recorder(mesh);
    strict.push('orders', [s[0]!.url]);
    lenient.push('users', [s[1]!.url]);
    strict.push('orders', []);
    strict.push('orders', []); // reported once, not on every push
    lenient.push('users', []);
    expect(mesh.health().services.orders!.endpoints).toBe(1);
    expect(mesh.health().services.users!.endpoints).toBe(0);
    expect(events).toEqual([
      `endpoint-added orders ${s[0]!.url}`,
      `endpoint-added users ${s[1]!.url}`,
      'discovery-rejected orders strict',
      `endpoint-removed users ${s[1]!.url}`,
    ]);
    await mesh.close();
  });

  it('falls back to the next provider while the first is down, and back when it returns', async () => {
    const primary = handProvider('primary');
    const backup = handProvider('backup');
    const mesh = new MeshClient({ services: { orders: { discovery: [primary, backup] } } });
    backup.push('orders', [s[1]!.url]);
    expect(await bodies(mesh, 1)).toEqual(['s1']); // primary still pending: the backup serves
    primary.push('orders', [s[0]!.url]);
    expect(await bodies(mesh, 2)).toEqual(['s0', 's0']);
    primary.fail('orders', 'etcd unreachable');
    expect(await bodies(mesh, 1)).toEqual(['s1']);
    expect(mesh.snapshot().services.orders!.discovery).toMatchObject({ active: 'backup', stale: true });
    primary.push('orders', [s[2]!.url]);
    expect(await bodies(mesh, 1)).toEqual(['s2']);
    expect(mesh.snapshot().services.orders!.discovery).toMatchObject({ active: 'primary', stale: false });
    await mesh.close();
  });

  it('rejects bad entries one by one, naming source and key, and applies the rest', async () => {
    const p = handProvider('hand');
    const mesh = new MeshClient({ discovery: p, services: { orders: {} } });
    const rejected: HealthEvent[] = [];
    mesh.on('health', (e) => {
      if (e.type === 'discovery-rejected') rejected.push(e);
    });
    p.push('orders', [
      s[0]!.url,
      { address: '127.0.0.1', port: 70000 },
      { url: s[1]!.url, weight: -1 },
      'not a url',
      s[0]!.url,
      { address: '127.0.0.1', port: s[2]!.port },
    ] as DiscoveredEndpoint[]);
    expect(mesh.snapshot().services.orders!.endpoints.map((e) => e.url)).toEqual([s[0]!.url, s[2]!.url]);
    expect(rejected.map((e) => [e.source, e.key])).toEqual([
      ['hand', '1'],
      ['hand', '2'],
      ['hand', '3'],
      ['hand', '4'],
    ]);
    expect(rejected[0]!.reason).toContain('1.port: expected an integer port 1-65535, found 70000');
    expect(rejected[1]!.reason).toContain('2.weight: expected a finite number > 0, found -1');
    expect(rejected[3]!.reason).toContain('duplicate endpoint');
    await mesh.close();
  });

  it('uses configured endpoints as the last fallback and a global provider only where no endpoints are set', async () => {
    const p = handProvider('hand');
    const mesh = new MeshClient({
      discovery: p,
      services: { orders: {}, users: { endpoints: [s[2]!.url] }, billing: { discovery: p, endpoints: [s[1]!.url] } },
    });
    expect(p.log.sort()).toEqual(['watch billing', 'watch orders']);
    expect(mesh.snapshot().services.billing!.endpoints.map((e) => e.url)).toEqual([s[1]!.url]);
    p.push('billing', [s[0]!.url]);
    expect(mesh.snapshot().services.billing!.endpoints.map((e) => e.url)).toEqual([s[0]!.url]);
    expect(mesh.snapshot().services.users!.discovery).toBeUndefined();
    await mesh.close();
  });

  it('follows configuration updates: new sources watched, removed ones stopped and closed', async () => {
    const a = handProvider('a');
    const b = handProvider('b');
    const mesh = new MeshClient({ services: { orders: { discovery: a } } });
    a.push('orders', [s[0]!.url]);
    await mesh.updateConfig({ services: { orders: { discovery: b } } });
    // The last known good set stays until b delivers.
    expect(await bodies(mesh, 1)).toEqual(['s0']);
    b.push('orders', [s[1]!.url]);
    expect(await bodies(mesh, 1)).toEqual(['s1']);
    expect(a.log).toEqual(['watch orders', 'unwatch orders', 'close']);
    await mesh.updateConfig({ services: {} });
    expect(b.log).toEqual(['watch orders', 'unwatch orders', 'close']);
    await mesh.close();
  });

  it('builds providers from specs of registered types and validates them', async () => {
    const mesh = new MeshClient({
      discovery: { type: 'static', endpoints: { orders: [s[0]!.url] } },
      services: { orders: {} },
    });
    expect(await bodies(mesh, 1)).toEqual(['s0']);
    await mesh.close();
    let error: unknown;
    try {
      new MeshClient({
        services: {
          orders: { discovery: [{ type: 'nope' }, { type: 'file', path: 3 }] },
          users: { discovery: 'x' as never },
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as MeshConfigError).issues.map((i) => i.path).sort()).toEqual([
      'services.orders.discovery.0.type',
      'services.orders.discovery.1.path',
      'services.users.discovery',
    ]);
  });

  it('ready() waits until every provider answered once, or times out on the mesh clock', async () => {
    const clock = manualClock();
    const a = handProvider('a');
    const b = handProvider('b');
    const mesh = new MeshClient({ clock, services: { orders: { discovery: a }, users: { discovery: b }, billing: { endpoints: [s[0]!.url] } } });
    const order: string[] = [];
    const ready = mesh.ready().then((r) => order.push(`ready ${r}`));
    a.push('orders', [s[0]!.url]);
    await clock.advance(0);
    expect(order).toEqual([]);
    b.fail('users', 'down'); // an error is an answer too
    await ready;
    expect(order).toEqual(['ready true']);
    expect(await mesh.ready()).toBe(true); // already settled

    const c = handProvider('c');
    const silent = new MeshClient({ clock, services: { orders: { discovery: c } } });
    const late = silent.ready({ timeoutMs: 1_000 });
    await clock.advance(999);
    c.push('orders', [s[1]!.url]);
    expect(await late).toBe(true);
    await silent.updateConfig({ services: { orders: { discovery: handProvider('d') } } });
    const timedOut = silent.ready({ timeoutMs: 1_000 });
    await clock.advance(1_000);
    expect(await timedOut).toBe(false);
    await Promise.all([mesh.close(), silent.close()]);
    expect(clock.pending()).toBe(0);
  });

  it('shares one instance per distinct spec across services and config updates', async () => {
    const created: string[] = [];
    const made: ReturnType<typeof handProvider>[] = [];
    registerDiscoveryProvider('hand-spec', {
      create: (o) => {
        created.push(String(o.name));
        const p = handProvider(`hand:${String(o.name)}`);
        made.push(p);
        return p;
      },
    });
    const spec = { type: 'hand-spec', name: 'a' };
    const mesh = new MeshClient({ discovery: spec, services: { orders: {}, users: {} } });
    await mesh.updateConfig({ discovery: { name: 'a', type: 'hand-spec' }, services: { orders: {}, users: {} } }); // same spec, keys reordered
    expect(created).toEqual(['a']);
    expect(made[0]!.log.sort()).toEqual(['watch orders', 'watch users']);
    await mesh.updateConfig({ discovery: { type: 'hand-spec', name: 'b' }, services: { orders: {} } });
    expect(created).toEqual(['a', 'b']);
    expect(made[0]!.log.slice(2).sort()).toEqual(['close', 'unwatch orders', 'unwatch users']);
    await mesh.close();
    expect(made[1]!.log).toEqual(['watch orders', 'unwatch orders', 'close']);
  });

  it('staticDiscovery serves its table behind the provider interface', async () => {
    const mesh = new MeshClient({
      discovery: staticDiscovery({ orders: [s[0]!.url, { address: '127.0.0.1', port: s[1]!.port }] }),
      services: { orders: {}, users: {} },
    });
    const events = recorder(mesh);
    expect((await bodies(mesh, 2)).sort()).toEqual(['s0', 's1']);
    expect(mesh.snapshot().services.users!.endpoints).toEqual([]);
    expect(events).toEqual([]);
    await mesh.close();
  });
});
