import { MockAgent } from 'undici';
import { MeshClient } from '../client/mesh-client.js';
import type { ConfigSource } from '../config/source.js';
import type { MeshClientOptions, MeshConfig } from '../config/types.js';
import { DISCOVERY_SCHEMA } from '../config/schema.js';
import { isRecord } from '../util/checks.js';
import { schemaIssues } from '../util/schema-issues.js';
import { resolveDiscovery } from '../discovery/config.js';
import { MeshConfigError, type ConfigIssue } from '../errors/mesh-error.js';
import { filterCalls, type CallFilter } from './assertions.js';
import { DecisionLog } from './decision-log.js';
import { ScriptedTransport, type TransportHost } from './endpoint-transport.js';
import { FakeDiscovery, type FakeDiscoveryOptions } from './fake-discovery.js';
import { checkFaults, decideFault, type FaultDecision, type FaultSpec } from './faults.js';
import { hashSeed, seededRandom } from './random.js';
import { ScriptedEndpoint, type EndpointCall } from './scripted-endpoint.js';
import { TestClock } from './test-clock.js';

/** Options of {@link createTestMesh}. */
export interface TestMeshOptions {
  /** Seed of every random source of the test mesh (the mesh's, endpoints' error rates and latencies, faults). Default 1. */
  seed?: number;
  /** The mesh's random source, instead of `seededRandom(seed)`; e.g. `stratifiedRandom(100)` for exact split counts. */
  random?: () => number;
  /** The clock: a {@link TestClock}, or `'manual'` (default) / `'globals'` to make one (see {@link TestClockOptions.source}). */
  clock?: TestClock | 'manual' | 'globals';
  /** The MockAgent to use (the kit calls `disableNetConnect()` on it and does not close it). Default: a new one, closed by `close()`. */
  agent?: MockAgent;
  /** Options of the fake discovery provider that replaces your configuration's providers (`t.discovery`). */
  discovery?: FakeDiscoveryOptions;
}

const CLIENT_ONLY_KEYS = ['observers', 'logger', 'random', 'clock', 'transport'] as const;

/**
 * A real {@link MeshClient} built from your configuration, with only the
 * transport (scripted endpoints over undici's `MockAgent`, no sockets), the
 * clock and the random source swapped for test ones; plus the decision log,
 * call history and fake discovery to assert on. Make one with
 * {@link createTestMesh}.
 */
export class TestMesh {
  /** The mesh under test: hand it to the code under test. */
  readonly mesh: MeshClient;
  /** The test clock every mesh timer and scripted delay runs on. */
  readonly clock: TestClock;
  /** The mesh's (seeded) random source. */
  readonly random: () => number;
  /** The MockAgent behind unscripted endpoints and egress origins (`t.agent.get(origin).intercept(...)`). */
  readonly agent: MockAgent;
  /** What the mesh decided: requests, attempts, retries, refusals, health transitions. */
  readonly log: DecisionLog;
  /**
   * The discovery provider in place of every provider of your configuration:
   * push endpoint sets and provider failures through the mesh's registry.
   */
  readonly discovery: FakeDiscovery;
  readonly #seed: number;
  readonly #ownsAgent: boolean;
  readonly #endpoints = new Map<string, ScriptedEndpoint>();
  readonly #faultRandoms = new Map<string, () => number>();
  readonly #serviceFaults = new Map<string, FaultSpec>();
  readonly #calls: EndpointCall[] = [];
  readonly #claimed = new WeakSet<EndpointCall>();
  #serviceOf = new Map<string, string>();
  /** The endpoint → service map is stale (rebuilt on next use). */
  #remap = true;
  /** The last configuration applied, as given (before the discovery swap). */
  #base: MeshConfig;
  /** Services with static endpoints only that a test pushed to or failed: backed by the fake too. */
  readonly #adopted = new Set<string>();
  #closing: Promise<void> | undefined;

  /** @internal Use {@link createTestMesh}. */
  constructor(config: MeshClientOptions, options: TestMeshOptions = {}) {
    this.#seed = options.seed ?? 1;
    this.clock = options.clock instanceof TestClock ? options.clock : new TestClock({ source: options.clock ?? 'manual' });
    this.random = options.random ?? seededRandom(this.#seed);
    this.#ownsAgent = options.agent === undefined;
    this.agent = options.agent ?? new MockAgent();
    this.agent.disableNetConnect();
    this.log = new DecisionLog(() => this.clock.now(), (endpoint, method) => this.#claim(endpoint, method));
    this.#base = stripClientKeys(config);
    this.discovery = new FakeDiscovery({ now: () => this.clock.now(), adopt: (service) => this.#adopt(service) }, options.discovery);
    const host: TransportHost = {
      clock: this.clock,
      agent: this.agent,
      newCall: (endpoint, fields) => this.#newCall(endpoint, fields),
      decideFault: (url, spec) => this.#decideFault(url, spec),
    };
    const hooks: SwapHooks = {
      swap: (c) => swapDiscovery(c, this.discovery, this.#adopted),
      applied: (c) => {
        this.#base = stripClientKeys(c as MeshClientOptions);
      },
    };
    const meshOptions: MeshClientOptions = {
      ...config,
      observers: [...(config.observers ?? []), this.log.observer, {
          // Endpoints change on applied configs and on discovery pushes (which apply without a config event).
          onConfig: (e) => {
            if (e.type === 'applied') this.#remap = true;
          },
          onHealth: (e) => {
            if (e.type === 'endpoint-added') this.#remap = true;
          },
        },
],
      clock: this.clock,
      random: this.random,
      transport: (origin) => new ScriptedTransport(this.endpoint(origin), host),
    };
    this.mesh = new TestMeshClient(swapDiscovery(meshOptions, this.discovery, this.#adopted), hooks);
  }

  /** The scripted endpoint at `url` (any origin, including egress hosts), made on first use. */
  endpoint(url: string): ScriptedEndpoint;
  /** The scripted endpoint at position `index` of `service`'s current endpoints. */
  endpoint(service: string, index: number): ScriptedEndpoint;
  endpoint(urlOrService: string, index?: number): ScriptedEndpoint {
    const url = index === undefined ? originOf(urlOrService) : this.#urlAt(urlOrService, index);
    let e = this.#endpoints.get(url);
    if (!e) {
      e = new ScriptedEndpoint(url, { now: () => this.clock.now(), serviceFaults: (u) => this.#faultsFor(u) }, seededRandom(hashSeed(this.#seed, url)));
      this.#endpoints.set(url, e);
    }
    return e;
  }

  /** The scripted endpoints of `service`, in configuration order. */
  endpoints(service: string): ScriptedEndpoint[] {
    return this.#urlsOf(service).map((url) => this.endpoint(url));
  }

  /**
   * Injects Istio-style faults into every endpoint of `service` (an
   * endpoint's own `faults(...)` takes precedence); `undefined` removes them.
   * Throws `MeshConfigError` naming `services.<name>.faults.*` when invalid.
   */
  faults(service: string, spec: FaultSpec | undefined): this {
    if (spec === undefined) {
      this.#serviceFaults.delete(service);
      return this;
    }
    const issues = checkFaults(spec, `services.${service}.faults`);
    if (issues.length > 0) throw new MeshConfigError(issues);
    this.#serviceFaults.set(service, spec);
    return this;
  }

  /** Calls received by endpoints, oldest first: all, one service's, or those matching a {@link CallFilter}. */
  calls(filter?: CallFilter): EndpointCall[] {
    return filterCalls(this.#calls, filter);
  }

  /** Forgets the call history and the decision log (scripts stay). */
  clearHistory(): void {
    this.#calls.length = 0;
    for (const e of this.#endpoints.values()) e.clearCalls();
    this.log.clear();
  }

  /**
   * Applies a new configuration as `mesh.updateConfig` does (which the kit
   * routes the same way), with the same discovery swap as
   * {@link createTestMesh}: every discovery provider is replaced by
   * {@link TestMesh.discovery}, whose pushed sets and failures carry over.
   * Throws `MeshConfigError` when invalid (nothing changes).
   */
  async updateConfig(config: MeshConfig): Promise<void> {
    await this.mesh.updateConfig(config);
  }

  /** Lets pending promise work settle without moving test time (see {@link TestClock.settle}). */
  settle(): Promise<void> {
    return this.clock.settle();
  }

  /**
   * Tears down: destroys the mesh (requests still pending fail with
   * `MESH_CLOSED`: test time would never let them drain), closes the
   * MockAgent the kit made and drops pending test timers.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.mesh.destroy();
      if (this.#ownsAgent) await this.agent.close();
      if (this.clock.source === 'manual') this.clock.reset();
    })();
    return this.#closing;
  }

  /** Makes `service` fake-backed (see {@link DiscoveryHost.adopt}). */
  #adopt(service: string): void {
    if (this.discovery.watches(service) || this.mesh.closed) return;
    const services = this.#base.services ?? {};
    if (!Object.hasOwn(services, service)) {
      throw new Error(`no service "${service}" in the configuration (services: ${Object.keys(services).join(', ') || 'none'})`);
    }
    if (this.#adopted.has(service)) return;
    this.#adopted.add(service);
    // Re-applies the current configuration with the fake as the service's first source (applied synchronously).
    this.mesh.updateConfig(this.#base).catch(() => this.#adopted.delete(service));
  }

  #newCall(endpoint: ScriptedEndpoint, fields: Pick<EndpointCall, 'method' | 'path' | 'headers'>): EndpointCall {
    const call: EndpointCall = {
      seq: this.#calls.length + 1,
      service: this.#serviceMap().get(endpoint.url),
      endpoint: endpoint.url,
      ...fields,
      body: undefined,
      time: this.clock.now(),
      outcome: undefined,
    };
    this.#calls.push(call);
    endpoint.record(call);
    return call;
  }

  #claim(endpoint: string, method: string): string | undefined {
    for (const c of this.#calls) {
      if (c.endpoint === endpoint && c.method === method && !this.#claimed.has(c)) {
        this.#claimed.add(c);
        return c.path;
      }
    }
    return undefined;
  }

  #decideFault(url: string, spec: FaultSpec | undefined): FaultDecision {
    let random = this.#faultRandoms.get(url);
    if (!random) this.#faultRandoms.set(url, (random = seededRandom(hashSeed(this.#seed, `faults ${url}`))));
    return decideFault(spec, random);
  }

  #faultsFor(url: string): FaultSpec | undefined {
    const service = this.#serviceMap().get(url);
    return service === undefined ? undefined : this.#serviceFaults.get(service);
  }

  /** Endpoint URL → service, rebuilt after applied configs and discovery changes. */
  #serviceMap(): Map<string, string> {
    if (!this.#remap) return this.#serviceOf;
    const map = new Map<string, string>();
    for (const [name, svc] of Object.entries(this.mesh.snapshot().services)) {
      for (const e of svc.endpoints) if (!map.has(e.url as string)) map.set(e.url as string, name);
    }
    this.#serviceOf = map;
    this.#remap = false;
    return map;
  }

  #urlsOf(service: string): string[] {
    const svc = this.mesh.snapshot().services[service];
    if (!svc) throw new Error(`no service "${service}" (services: ${Object.keys(this.mesh.snapshot().services).join(', ') || 'none'})`);
    return svc.endpoints.map((e) => e.url as string);
  }

  #urlAt(service: string, index: number): string {
    const urls = this.#urlsOf(service);
    const url = urls[index];
    if (url === undefined) throw new Error(`service "${service}" has ${urls.length} endpoint(s); there is no index ${index}`);
    return url;
  }
}

/**
 * Builds a {@link TestMesh} from your production configuration: the same
 * services, routes, balancers and policies, with only the transport, clock
 * and random source swapped (any `transport`, `clock` or `random` in
 * `config` is replaced; your `observers` and `logger` stay).
 *
 * @example
 * ```ts
 * import { createTestMesh, expectCalls } from 'proxyless/testing';
 * const t = createTestMesh(productionConfig);
 * t.endpoint('orders', 0).reply(200, { id: 42 });
 * const order = await getOrder(t.mesh, 42);            // your code, calling mesh.fetch
 * expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }]);
 * await t.close();
 * ```
 */
export function createTestMesh(config: MeshClientOptions, options: TestMeshOptions = {}): TestMesh {
  return new TestMesh(config, options);
}

interface SwapHooks {
  /** The configuration to hand the mesh instead of `config`. */
  swap(config: unknown): unknown;
  /** `config` (as given) was applied. */
  applied(config: unknown): void;
}

/**
 * The test mesh's client: every configuration it takes (`updateConfig`,
 * `watchConfig`) gets the discovery swap first, so code under test that
 * updates the configuration never starts a real provider either.
 */
class TestMeshClient extends MeshClient {
  readonly #hooks: SwapHooks;

  constructor(options: MeshClientOptions, hooks: SwapHooks) {
    super(options);
    this.#hooks = hooks;
  }

  override updateConfig(config: MeshConfig): Promise<void> {
    if (this.closed) return super.updateConfig(config);
    const before = this.snapshot().version;
    const swapped = this.#hooks.swap(config);
    // MeshClient applies (or rejects) synchronously, before its promise settles.
    const done = super.updateConfig(swapped as MeshConfig);
    if (!this.closed && this.snapshot().version !== before) this.#hooks.applied(config);
    return done;
  }

  override watchConfig(source: ConfigSource): Promise<() => void> {
    const hooks = this.#hooks;
    return super.watchConfig({
      name: source.name,
      watch: (listener, env) =>
        source.watch(
          {
            update: (config) => {
              const before = this.snapshot().version;
              listener.update(hooks.swap(config));
              if (!this.closed && this.snapshot().version !== before) hooks.applied(config);
            },
            error: (error) => listener.error(error),
          },
          env,
        ),
    });
  }
}

/**
 * `config` with every discovery provider replaced by `fake`: the top-level
 * `discovery` goes; each service that has its own `discovery`, or no
 * `endpoints` while the top level had one, or was adopted, gets
 * `discovery: fake` (configured `endpoints` stay, as the fallback after it).
 * `config` itself is not modified. A configuration whose discovery options
 * are invalid is returned as it is: the mesh rejects it whole, naming the
 * paths, before any provider is made.
 */
function swapDiscovery<T>(input: T, fake: FakeDiscovery, adopted: ReadonlySet<string>): T {
  const config: unknown = input;
  if (!isRecord(config)) return input;
  const issues: ConfigIssue[] = [];
  // Invalid as the mesh would judge it: the shape (the schema's) and the options (the registered types').
  const check = (value: unknown, path: string) => {
    if (value === undefined) return;
    issues.push(...schemaIssues(value, DISCOVERY_SCHEMA, path));
    resolveDiscovery(value, path, issues);
  };
  check(config.discovery, 'discovery');
  const services = isRecord(config.services) ? config.services : undefined;
  for (const [name, svc] of Object.entries(services ?? {})) {
    if (isRecord(svc)) check(svc.discovery, `services.${name}.discovery`);
  }
  if (issues.length > 0) return input;
  const { discovery: topLevel, ...rest } = config;
  if (!services) return rest as T;
  const swapped: Record<string, unknown> = {};
  for (const [name, svc] of Object.entries(services)) {
    const backed =
      isRecord(svc) && (svc.discovery !== undefined || (svc.endpoints === undefined && topLevel !== undefined) || adopted.has(name));
    swapped[name] = backed ? { ...svc, discovery: fake } : svc;
  }
  return { ...rest, services: swapped } as T;
}

function stripClientKeys(config: MeshClientOptions): MeshConfig {
  const copy: Record<string, unknown> = { ...config };
  for (const key of CLIENT_ONLY_KEYS) delete copy[key];
  return copy as MeshConfig;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    throw new Error(`"${url}" is not a URL; to pick a service's endpoint, pass its index: endpoint('${url}', 0)`);
  }
}
