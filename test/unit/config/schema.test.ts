import Ajv2020Module from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { publishedSchema } from '../../../src/config/schema.js';
import { MeshClient, MeshConfigError } from '../../../src/index.js';

// ajv ships CommonJS with `exports.default`: take the class from either shape.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: typeof Ajv2020Module }).default ?? Ajv2020Module) as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } };
const ajv = new Ajv2020({ allErrors: true });
const validate = ajv.compile(publishedSchema());

// ---- arbitraries of valid configurations (no network: nothing is dialled by the constructor) ----

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const orFalse = <T>(arb: fc.Arbitrary<T>) => fc.oneof(fc.constant(false as const), arb);
/** An object without the keys whose value is undefined. */
const record = <T extends Record<string, fc.Arbitrary<unknown>>>(shape: T) =>
  fc.record(shape).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));

const percent = fc.integer({ min: 0, max: 100 });
const faults = orFalse(
  record({
    delay: maybe(record({ percent, ms: fc.integer({ min: 0, max: 5_000 }) })),
    abort: maybe(
      fc.oneof(
        record({ percent, status: fc.integer({ min: 200, max: 599 }) }),
        record({ percent, error: fc.constantFrom('connect-refused', 'connect-timeout', 'reset', 'timeout') }),
      ),
    ),
  }),
);
const breaker = {
  mode: maybe(fc.constantFrom('consecutive', 'sampling')),
  consecutiveFailures: maybe(fc.integer({ min: 1, max: 20 })),
  halfOpenAfterMs: maybe(fc.integer({ min: 1, max: 60_000 })),
  maxHalfOpenAfterMs: maybe(fc.integer({ min: 1, max: 600_000 })),
  count5xx: maybe(fc.boolean()),
};
const hashOn = fc.constantFrom('path', { header: 'x-user' }, { cookie: 'sid' }, { query: 'user' });
/** Every built-in policy's block, with its options (each policy's own schema). */
const loadBalancer = fc.oneof(
  fc.constantFrom('round-robin', 'weighted-round-robin', 'random', 'least-request', 'peak-ewma'),
  record({ policy: fc.constantFrom('round-robin', 'weighted-round-robin', 'random') }),
  record({ policy: fc.constant('least-request'), choiceCount: maybe(fc.integer({ min: 2, max: 100 })) }),
  record({ policy: fc.constant('peak-ewma'), choiceCount: maybe(fc.integer({ min: 2, max: 100 })), decayMs: maybe(fc.double({ min: 1, max: 60_000, noNaN: true })) }),
  record({
    policy: fc.constant('ring-hash'),
    hashOn,
    minRingSize: maybe(fc.integer({ min: 1, max: 1_024 })),
    maxRingSize: maybe(fc.integer({ min: 1_024, max: 8_388_608 })),
    pointsPerEndpoint: maybe(fc.integer({ min: 1, max: 10_000 })),
  }),
  record({ policy: fc.constant('maglev'), hashOn, tableSize: maybe(fc.constantFrom(3, 7, 65_537, 131_071)) }),
);
/** Discovery specs of the built-in types (nothing is read: services that set endpoints do not use the top-level discovery). */
const staticSpec = record({
  type: fc.constant('static'),
  endpoints: fc.constant({ orders: ['http://127.0.0.1:1'] }),
  allowEmpty: maybe(fc.boolean()),
});
const discovery = fc.oneof(
  staticSpec,
  record({
    type: fc.constant('file'),
    path: fc.constant('endpoints.json'),
    format: maybe(fc.constantFrom('json', 'yaml')),
    debounceMs: maybe(fc.integer({ min: 0, max: 1_000 })),
    pollIntervalMs: maybe(fc.integer({ min: 0, max: 10_000 })),
    allowEmpty: maybe(fc.boolean()),
  }),
  record({
    type: fc.constant('dns'),
    hostname: maybe(fc.constant('orders.internal')),
    recordType: maybe(fc.constantFrom('A', 'AAAA', 'A+AAAA', 'SRV')),
    port: maybe(fc.integer({ min: 1, max: 65_535 })),
    protocol: maybe(fc.constantFrom('http', 'https')),
    servers: maybe(fc.constant(['127.0.0.1'])),
    minTtlMs: maybe(fc.integer({ min: 1, max: 1_000 })),
    maxTtlMs: maybe(fc.integer({ min: 1_000, max: 600_000 })),
    srvRefreshMs: maybe(fc.integer({ min: 1, max: 60_000 })),
    timeoutMs: maybe(fc.integer({ min: 1, max: 10_000 })),
    allowEmpty: maybe(fc.boolean()),
  }),
);
const shared = {
  loadBalancer: maybe(loadBalancer),
  connection: maybe(
    record({
      maxConnections: maybe(fc.integer({ min: 1, max: 256 })),
      pipelining: maybe(fc.integer({ min: 1, max: 100 })),
      connectTimeoutMs: maybe(fc.integer({ min: 1, max: 60_000 })),
      keepAliveTimeoutMs: maybe(fc.integer({ min: 1, max: 60_000 })),
    }),
  ),
  overprovisioningFactor: maybe(fc.double({ min: 1, max: 100, noNaN: true })),
  panicThreshold: maybe(fc.double({ min: 0, max: 100, noNaN: true })),
  slowStart: maybe(orFalse(record({ windowMs: fc.integer({ min: 1, max: 60_000 }), minWeightPercent: maybe(fc.integer({ min: 1, max: 100 })) }))),
  requireTls: maybe(fc.constant(false)),
  healthCheck: maybe(fc.constant(false as const)),
  faults: maybe(faults),
  retry: maybe(
    orFalse(
      record({
        attempts: maybe(fc.integer({ min: 1, max: 10 })),
        retryOn: maybe(fc.subarray(['connect-failure', 'refused', 'reset', '5xx', 'gateway-error', 'timeout'])),
        backoff: maybe(orFalse(record({ baseMs: fc.integer({ min: 0, max: 100 }), maxMs: fc.integer({ min: 100, max: 1_000 }) }))),
        budget: maybe(
          orFalse(
            record({
              percent: maybe(percent),
              minRetriesPerSecond: maybe(fc.integer({ min: 0, max: 100 })),
              ttlMs: maybe(fc.integer({ min: 1_000, max: 60_000 })),
            }),
          ),
        ),
        retryNonIdempotent: maybe(fc.boolean()),
        retryAfterMaxMs: maybe(fc.integer({ min: 0, max: 10_000 })),
      }),
    ),
  ),
  timeout: maybe(orFalse(record({ perTryMs: maybe(fc.integer({ min: 1, max: 1_000 })), totalMs: maybe(fc.integer({ min: 1_000, max: 10_000 })) }))),
  circuitBreaker: maybe(orFalse(record({ ...breaker, service: maybe(fc.oneof(fc.boolean(), record(breaker))) }))),
  outlierDetection: maybe(
    orFalse(
      record({
        consecutive5xx: maybe(orFalse(fc.integer({ min: 1, max: 20 }))),
        intervalMs: maybe(fc.integer({ min: 1, max: 60_000 })),
        maxEjectionPercent: maybe(percent),
        successRate: maybe(orFalse(record({ stdevFactor: maybe(fc.double({ min: 0, max: 5, noNaN: true })) }))),
      }),
    ),
  ),
  bulkhead: maybe(orFalse(record({ maxConcurrent: maybe(fc.integer({ min: 1, max: 1_000 })), maxPending: maybe(fc.integer({ min: 0, max: 100 })) }))),
  hedge: maybe(orFalse(record({ delayMs: maybe(fc.integer({ min: 1, max: 1_000 })), minSamples: maybe(fc.integer({ min: 1, max: 100 })) }))),
};
const endpoints = fc
  .uniqueArray(fc.integer({ min: 1_024, max: 65_535 }), { minLength: 1, maxLength: 4 })
  .chain((ports) =>
    fc.tuple(...ports.map((port) =>
      fc.oneof(
        fc.constant(`http://127.0.0.1:${port}`),
        record({
          url: fc.constant(`http://127.0.0.1:${port}`),
          weight: maybe(fc.integer({ min: 1, max: 100 })),
          zone: maybe(fc.constantFrom('a', 'b')),
          labels: maybe(fc.constant({ version: 'v1' })),
        }),
      ),
    )),
  );
const route = record({
  name: maybe(fc.constantFrom('api', 'web')),
  match: maybe(record({ path: maybe(fc.constantFrom({ prefix: '/api' }, { exact: '/x' })), method: maybe(fc.constantFrom('GET', ['GET', 'POST'])) })),
  split: fc.array(record({ weight: fc.integer({ min: 1, max: 100 }) }), { minLength: 1, maxLength: 3 }),
  faults: maybe(faults),
});
const service = record({ endpoints, discovery: maybe(staticSpec), routes: maybe(fc.array(route, { maxLength: 1 })), ...shared });
const validConfig = record({
  services: fc.dictionary(fc.constantFrom('orders', 'users', 'pay-ments', 'a.b', 'x_1'), service, { minKeys: 1, maxKeys: 3 }),
  defaults: maybe(record(shared)),
  egress: maybe(fc.constantFrom('allow', 'deny', { mode: 'deny', allow: ['api.example.com', '*.example.org'] })),
  localZone: maybe(fc.constantFrom('a', 'b')),
  discovery: maybe(fc.oneof(discovery, fc.array(discovery, { minLength: 1, maxLength: 2 }))),
});

// ---- invalid configurations: one valid config with one part broken ----

type Json = Record<string, unknown> | unknown[];
/** Every path (as keys) to an object or array inside `value`, the root included. */
function containers(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const out = [at];
  for (const [k, v] of Object.entries(value)) out.push(...containers(v, [...at, Array.isArray(value) ? Number(k) : k]));
  return out;
}
const BAD_VALUES: unknown[] = [-1, 0, 1e12, 'nonsense', '', null, true, [], {}, { bogus: 1 }, Number.NaN, 0.5];
const brokenConfig = fc
  .tuple(validConfig, fc.nat(), fc.nat(), fc.constantFrom(...BAD_VALUES), fc.boolean())
  .map(([config, pickContainer, pickKey, bad, addKey]) => {
    const copy = structuredClone(config) as Json;
    const all = containers(copy);
    const path = all[pickContainer % all.length]!;
    let target: Json = copy;
    for (const k of path) target = (target as Record<string | number, unknown>)[k] as Json;
    const keys = Object.keys(target);
    if (addKey || keys.length === 0) {
      if (Array.isArray(target)) target.push(bad);
      else target['unknownOption'] = bad;
    } else {
      const key = keys[pickKey % keys.length]!;
      (target as Record<string, unknown>)[key] = bad;
    }
    return copy;
  });

/** Whether the dotted `path` names a value in `input` (keys may contain dots, e.g. the service `a.b`). */
function pathExists(input: unknown, path: string): boolean {
  if (path === '') return true;
  const parts = path.split('.');
  const walk = (v: unknown, i: number): boolean => {
    if (i === parts.length) return true;
    if (typeof v !== 'object' || v === null) return false;
    for (let j = i + 1; j <= parts.length; j++) {
      const key = parts.slice(i, j).join('.');
      if (Object.prototype.hasOwnProperty.call(v, key) && walk((v as Record<string, unknown>)[key], j)) return true;
    }
    return false;
  };
  return walk(input, 0);
}

function construct(config: unknown): MeshConfigError | undefined {
  try {
    const mesh = new MeshClient(config as never);
    void mesh.close();
    return undefined;
  } catch (error) {
    if (error instanceof MeshConfigError) return error;
    throw error;
  }
}

describe('the JSON Schema and the validator agree (property-based)', () => {
  it('every random valid config validates against the JSON Schema and builds a MeshClient', () => {
    fc.assert(
      fc.property(validConfig, (config) => {
        const json = JSON.parse(JSON.stringify(config)) as unknown;
        expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
        expect(construct(json)?.issues).toBeUndefined();
      }),
      { numRuns: 2_000, seed: Number(process.env.FC_SEED ?? 7) },
    );
  });

  it('random broken configs: only MeshConfigError escapes, every issue path exists in the input, and the mesh and the published schema agree', () => {
    let rejected = 0;
    fc.assert(
      fc.property(brokenConfig, (config) => {
        const error = construct(config);
        const json = JSON.parse(JSON.stringify(config)) as unknown;
        const representable = JSON.stringify(json) === JSON.stringify(config);
        // Rejected by the published schema: rejected by the mesh (the two are one schema).
        if (representable && !validate(json)) expect(error, JSON.stringify(validate.errors)).toBeDefined();
        if (error === undefined) {
          // Accepted by the mesh: the published schema accepts it too (for JSON-representable values).
          if (representable) expect(validate(json), JSON.stringify(validate.errors)).toBe(true);
          return;
        }
        rejected++;
        expect(error.code).toBe('MESH_CONFIG_INVALID');
        expect(error.issues.length).toBeGreaterThan(0);
        // Every issue names a path that exists in the input (a missing required option is reported on the object that lacks it).
        for (const issue of error.issues) expect(pathExists(config, issue.path), `${issue.path}: ${issue.message}`).toBe(true);
        // The schema's issues say what was expected and what was found.
        for (const issue of error.issues.filter((i) => i.expected !== undefined)) {
          expect(issue.message, issue.path).toContain(issue.expected!);
          expect(issue.found, issue.path).toBeTypeOf('string');
        }
      }),
      { numRuns: 3_000, seed: Number(process.env.FC_SEED ?? 11) },
    );
    expect(rejected).toBeGreaterThan(2_000);
  });

  it('a rejected updateConfig never changes behaviour (version, snapshot, routing)', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: ['http://127.0.0.1:9'], retry: { attempts: 2 } } } });
    const stable = () => JSON.stringify(mesh.snapshot(), (key, value: unknown) => (key === 'time' ? undefined : value));
    const before = stable();
    let rejected = 0;
    let version = mesh.snapshot().version;
    let versionSnapshot = before;
    await fc.assert(
      fc.asyncProperty(brokenConfig, async (config) => {
        try {
          await mesh.updateConfig(config as never);
          // Accepted: go back to the reference config for the next run.
          await mesh.updateConfig({ services: { orders: { endpoints: ['http://127.0.0.1:9'], retry: { attempts: 2 } } } });
          version = mesh.snapshot().version;
          versionSnapshot = stable();
          return;
        } catch (error) {
          expect(error).toBeInstanceOf(MeshConfigError);
          rejected++;
        }
        const after = mesh.snapshot();
        expect(after.version).toBe(version);
        expect(stable()).toBe(versionSnapshot);
      }),
      { numRuns: 500, seed: 5 },
    );
    expect(rejected).toBeGreaterThan(300);
    await mesh.close();
  });
});
