import { describe, expect, it } from 'vitest';
import type { MeshConfigError} from '../../../src/index.js';
import { MeshClient, isMeshConfigError, type ConfigIssue } from '../../../src/index.js';

function issuesOf(options: unknown): ConfigIssue[] {
  try {
    new MeshClient(options as never);
  } catch (error) {
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as MeshConfigError).code).toBe('MESH_CONFIG_INVALID');
    return [...(error as MeshConfigError).issues];
  }
  throw new Error('expected a MeshConfigError');
}

describe('configuration validation at construction', () => {
  it('names every bad path at once', () => {
    const issues = issuesOf({
      egress: 'sometimes',
      services: {
        orders: {
          endpoints: ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', weight: -1 }, 'ftp://x', 42],
          loadBalancer: 'fastest',
          retires: 3,
        },
        Users: {},
      },
    });
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual(
      [
        'egress',
        'services.orders.endpoints.1.weight',
        'services.orders.endpoints.2',
        'services.orders.endpoints.3',
        'services.orders.loadBalancer',
        'services.orders.retires',
        'services.Users',
      ].sort(),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['services.orders.endpoints.1.weight']).toMatch(/> 0.*-1/);
    expect(byPath['services.orders.loadBalancer']).toMatch(/unknown load balancer "fastest"/);
    expect(byPath['services.orders.retires']).toMatch(/unknown option "retires"/);
    expect(byPath.egress).toMatch(/"allow", "deny".*"sometimes"/);
  });

  it('rejects duplicate endpoints, origins with paths and credentials', () => {
    const issues = issuesOf({
      services: {
        a: {
          endpoints: [
            'http://127.0.0.1:8080',
            'http://127.0.0.1:8080/',
            'http://127.0.0.1:8081/api',
            'http://user:pw@127.0.0.1:8082',
            { url: 'http://127.0.0.1:8083', priority: 1.5, zone: '', labels: { v: 2 }, color: 'red' },
          ],
        },
      },
    });
    expect(issues.map((i) => i.path).sort()).toEqual([
      'services.a.endpoints.1',
      'services.a.endpoints.2',
      'services.a.endpoints.3',
      'services.a.endpoints.4.color',
      'services.a.endpoints.4.labels.v',
      'services.a.endpoints.4.priority',
      'services.a.endpoints.4.zone',
    ]);
    expect(issues.find((i) => i.path === 'services.a.endpoints.1')!.message).toMatch(/duplicate endpoint http:\/\/127\.0\.0\.1:8080 \(also at services\.a\.endpoints\.0\)/);
  });

  it('checks load balancer objects, defaults, connection settings and client hooks', () => {
    const issues = issuesOf({
      defaults: { loadBalancer: { policy: 42 }, connection: { maxConnections: 0 } },
      services: { a: { loadBalancer: { policy: 'round-robin', choiceCount: 2 }, connection: { pipelining: 1000 } } },
      observers: [{ onHealth: 'nope' }, 7],
      logger: { debug() {} },
      random: 0.5,
      clock: {},
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'defaults.loadBalancer.policy',
        'defaults.connection.maxConnections',
        'services.a.loadBalancer.choiceCount',
        'services.a.connection.pipelining',
        'observers.0.onHealth',
        'observers.1',
        'logger.info',
        'random',
        'clock.now',
      ]),
    );
  });

  it('accepts the documented shapes and fills defaults', () => {
    const mesh = new MeshClient({
      defaults: { loadBalancer: 'random' },
      services: {
        orders: {
          endpoints: ['http://127.0.0.1:8081', { url: 'http://[::1]:8082', weight: 3, zone: 'b', labels: { version: 'v2' } }],
        },
        users: { loadBalancer: { policy: 'round-robin' } },
      },
    });
    const snap = mesh.snapshot();
    expect(snap.version).toBe(1);
    expect(snap.egress).toBe('allow');
    expect(snap.services.orders!.loadBalancer).toEqual({ policy: 'random' });
    expect(snap.services.users!.loadBalancer).toEqual({ policy: 'round-robin' });
    expect(snap.services.orders!.connection).toEqual({
      maxConnections: 64,
      pipelining: 1,
      connectTimeoutMs: 10_000,
      keepAliveTimeoutMs: 4_000,
    });
    expect(snap.services.orders!.endpoints.map((e) => [e.url, e.weight, e.zone, e.labels])).toEqual([
      ['http://127.0.0.1:8081', 1, null, {}],
      ['http://[::1]:8082', 3, 'b', { version: 'v2' }],
    ]);
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    void mesh.close();
  });

  it('rejects a non-object', () => {
    expect(issuesOf('nope')).toEqual([{ path: '', message: 'expected an object, found "nope"' }]);
  });
});
