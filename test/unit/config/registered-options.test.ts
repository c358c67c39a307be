import { Type } from '@sinclair/typebox';
import Ajv2020Module from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { LB_POLICIES, publishedSchema } from '../../../src/config/schema.js';
import { BUILTIN_BALANCERS } from '../../../src/balancing/builtins.js';
import { BUILTIN_DISCOVERY } from '../../../src/discovery/builtins.js';
import {
  MeshClient,
  MeshConfigError,
  listDiscoveryProviders,
  registerDiscoveryProvider,
  registerLoadBalancer,
  staticDiscovery,
  type BalancerEndpoint,
  type ConfigIssue,
} from '../../../src/index.js';

// Options beside `policy` and `type` are described by the registered
// definition's own schema: checked with full paths, defaults filled in
// before `create`, and spelled out per built-in in the published schema.

const Ajv2020 = ((Ajv2020Module as unknown as { default?: typeof Ajv2020Module }).default ?? Ajv2020Module) as unknown as new (o: object) => {
  compile(s: object): (d: unknown) => boolean;
};
const validate = new Ajv2020({ allErrors: true }).compile(publishedSchema());

function issuesOf(config: unknown): { path: string; message: string }[] {
  try {
    void new MeshClient(config as never).close();
  } catch (error) {
    expect(error).toBeInstanceOf(MeshConfigError);
    return (error as MeshConfigError).issues.map(({ path, message }: ConfigIssue) => ({ path, message }));
  }
  throw new Error('the config was accepted');
}

const created: Record<string, unknown>[] = [];
registerLoadBalancer<{ spread: number; label: string }>('test-spread', {
  options: Type.Object(
    {
      spread: Type.Optional(Type.Integer({ minimum: 1, maximum: 8, default: 2 })),
      label: Type.Optional(Type.String({ default: 'none' })),
    },
    { additionalProperties: false },
  ),
  validate: (o) => (o.label === 'bad' ? [{ path: 'label', message: 'label must not be "bad"' }] : []),
  create: (options) => {
    created.push({ ...options });
    let list: readonly BalancerEndpoint[] = [];
    return { update: (e) => void (list = e), pick: () => list[0] };
  },
});

const discoveryOptions: Record<string, unknown>[] = [];
registerDiscoveryProvider('test-fixed', {
  options: Type.Object(
    { url: Type.String({ pattern: '^http://' }), everyMs: Type.Optional(Type.Integer({ minimum: 1, default: 30_000 })) },
    { additionalProperties: false },
  ),
  create: (options) => {
    discoveryOptions.push({ ...options });
    return staticDiscovery({ orders: [options.url as string] });
  },
});

const meshes: MeshClient[] = [];
afterAll(async () => {
  await Promise.all(meshes.map((m) => m.close()));
});

describe('a registered balancer with an options schema', () => {
  it('gets its defaults filled in before create', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: ['http://127.0.0.1:1'], loadBalancer: { policy: 'test-spread', spread: 3 } } } });
    meshes.push(mesh);
    expect(created.at(-1)).toEqual({ spread: 3, label: 'none' });
    expect(mesh.snapshot().services.orders!.loadBalancer).toEqual({ policy: 'test-spread', spread: 3, label: 'none' });
    meshes.push(new MeshClient({ services: { orders: { endpoints: ['http://127.0.0.1:1'], loadBalancer: 'test-spread' } } }));
    expect(created.at(-1)).toEqual({ spread: 2, label: 'none' });
  });

  it('has bad options reported with full paths, schema rules and its own rules alike', () => {
    const config = (loadBalancer: unknown) => ({ services: { orders: { endpoints: ['http://127.0.0.1:1'], loadBalancer } } });
    expect(issuesOf(config({ policy: 'test-spread', spread: 9 }))).toEqual([
      { path: 'services.orders.loadBalancer.spread', message: 'expected an integer >= 1 <= 8, found 9' },
    ]);
    expect(issuesOf(config({ policy: 'test-spread', spred: 1 }))).toEqual([
      { path: 'services.orders.loadBalancer.spred', message: 'unknown option "spred" (did you mean "spread"?)' },
    ]);
    expect(issuesOf(config({ policy: 'test-spread', label: 'bad' }))).toEqual([
      { path: 'services.orders.loadBalancer.label', message: 'label must not be "bad"' },
    ]);
    expect(issuesOf({ defaults: { loadBalancer: { policy: 'test-spread', spread: 0 } } })).toEqual([
      { path: 'defaults.loadBalancer.spread', message: 'expected an integer >= 1 <= 8, found 0' },
    ]);
  });

  it('built-in option errors name the path too', () => {
    expect(issuesOf({ services: { orders: { endpoints: ['http://127.0.0.1:1'], loadBalancer: { policy: 'maglev', hashOn: 'path', tableSize: 2 } } } })).toEqual([
      { path: 'services.orders.loadBalancer.tableSize', message: 'expected an integer >= 3 <= 5000011, found 2' },
    ]);
    expect(issuesOf({ services: { orders: { endpoints: ['http://127.0.0.1:1'], loadBalancer: { policy: 'random', seed: 1 } } } })).toEqual([
      { path: 'services.orders.loadBalancer.seed', message: 'unknown option "seed" (this takes no options)' },
    ]);
  });

  it('must give a TypeBox object schema', () => {
    expect(() => registerLoadBalancer('test-bad', { options: { type: 'object' } as never, create: () => ({ update() {}, pick: () => undefined }) })).toThrow(TypeError);
  });
});

describe('a registered discovery type with an options schema', () => {
  it('gets its defaults filled in and bad options reported with full paths', async () => {
    const mesh = new MeshClient({ discovery: { type: 'test-fixed', url: 'http://127.0.0.1:1' }, services: { orders: {} } });
    meshes.push(mesh);
    await mesh.ready({ timeoutMs: 1_000 });
    expect(discoveryOptions.at(-1)).toEqual({ url: 'http://127.0.0.1:1', everyMs: 30_000 });
    expect(issuesOf({ services: { orders: { discovery: [{ type: 'test-fixed', url: 'ftp://x', everyMs: 0 }] } } })).toEqual([
      { path: 'services.orders.discovery.0.url', message: 'expected a string matching /^http:///, found "ftp://x"' },
      { path: 'services.orders.discovery.0.everyMs', message: 'expected an integer >= 1, found 0' },
    ]);
  });

  it('an unknown type lists the registered ones and suggests a near one', () => {
    const known = listDiscoveryProviders().join(', ');
    expect(known).toContain('static, file, dns');
    expect(issuesOf({ discovery: { type: 'dsn' }, services: { orders: {} } })).toEqual([
      { path: 'discovery.type', message: `unknown discovery provider type "dsn" (did you mean "dns"? known: ${known})` },
    ]);
  });
});

describe('the published schema spells out the built-ins', () => {
  const lb = (loadBalancer: unknown) => validate({ services: { orders: { loadBalancer } } });
  const spec = (discovery: unknown) => validate({ discovery });

  it('lists every built-in policy, with its options, and lets other names through', () => {
    expect(Object.keys(BUILTIN_BALANCERS)).toEqual([...LB_POLICIES]);
    expect(lb({ policy: 'maglev', hashOn: { header: 'x-user' }, tableSize: 65_537 })).toBe(true);
    expect(lb({ policy: 'maglev', hashOn: 'path', tableSize: 2 })).toBe(false);
    expect(lb({ policy: 'maglev' })).toBe(false);
    expect(lb('maglev')).toBe(false);
    expect(lb({ policy: 'least-request', choiceCount: 3 })).toBe(true);
    expect(lb({ policy: 'least-request', choicecount: 3 })).toBe(false);
    expect(lb({ policy: 'round-robin', choiceCount: 3 })).toBe(false);
    // A policy registered in code: the schema cannot know its options.
    expect(lb({ policy: 'test-spread', anything: 1 })).toBe(true);
    expect(lb('test-spread')).toBe(true);
  });

  it('lists every built-in discovery type, with its options, and lets other types through', () => {
    expect(Object.keys(BUILTIN_DISCOVERY)).toEqual(['static', 'file', 'dns']);
    expect(spec({ type: 'dns', hostname: 'orders.internal', recordType: 'SRV' })).toBe(true);
    expect(spec({ type: 'dns', recordType: 'MX' })).toBe(false);
    expect(spec({ type: 'file' })).toBe(false);
    expect(spec({ type: 'file', path: 'e.json', pollIntervalMs: 0 })).toBe(true);
    expect(spec({ type: 'etcd', endpoints: ['http://127.0.0.1:2379'] })).toBe(true);
  });

  it('writes each built-in default into the schema', () => {
    const text = JSON.stringify(publishedSchema());
    expect(text).toContain('"tableSize":{"description":"Lookup table size: a prime, well above the number of endpoints. Default 65,537.","default":65537');
    expect(text).toContain('"pollIntervalMs":{"description":"How often the file is checked in case events are missed, ms (0: never). Default 5,000.","default":5000');
  });
});
