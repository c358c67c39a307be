import { EventEmitter } from 'eventemitter3';
import {
  Agent,
  request as undiciRequest,
  type Dispatcher,
} from 'undici';
import { checkObject } from '../util/checks.js';
import { resolveConfig, type ResolvedConfig, type ResolvedService } from '../config/resolve.js';
import type { ConfigSource } from '../config/source.js';
import type { FaultSpec } from '../faults/spec.js';
import type {
  HedgeOptions,
  LoadBalancerChoice,
  MeshClientOptions,
  MeshConfig,
  RetryOptions,
  TimeoutOptions,
} from '../config/types.js';
import { describe } from '../util/describe.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { DiscoveryRegistry, type DiscoveryPlan, type ServiceDiscoveryStatus } from '../discovery/registry.js';
import { HealthChecker } from '../health/checker.js';
import { buildHealthReport, type MeshHealth } from '../health/report.js';
import { MeshConfigError, MeshError, type ConfigIssue } from '../errors/mesh-error.js';
import { egressAllowed } from '../security/egress.js';
import { SecurityRegistry } from '../security/registry.js';
import type { TlsMaterialUpdate } from '../security/types.js';
import { EventBus } from '../telemetry/event-bus.js';
import { checkTelemetry } from '../telemetry/options.js';
import { Telemetry, type TelemetrySnapshot } from '../telemetry/telemetry.js';
import type { HealthEventInput, MeshEvents, Observer } from '../telemetry/events.js';
import { assignOver } from '../util/assign-over.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { debugChannel, debugLogger, type Logger } from '../util/logger.js';
import { EndpointState } from './endpoint-state.js';
import { serverNameOf } from '../util/headers.js';
import { BorrowedDispatcher } from './borrowed-dispatcher.js';
import { createMeshFetch, type MeshFetch } from './fetch.js';
import { BridgedDispatcher } from './legacy-bridge.js';
import { MeshDispatcher } from './mesh-dispatcher.js';
import { MeshRequest, type RequestEnvironment, type RequestRoute } from './mesh-request.js';
import { ServiceRuntime, type RuntimeEnvironment } from './service-runtime.js';
import { tcpConnectProbe } from '../resilience/connect-probe.js';
import { ServiceResilience, type ResilienceEnvironment } from '../resilience/service-resilience.js';

const trace = debugChannel('client');
const CLIENT_KEYS = ['observers', 'logger', 'random', 'clock', 'transport', 'telemetry'] as const;
const ROUTE_CACHE_LIMIT = 1024;
/** How often a draining {@link MeshClient.close} looks for requests still in flight. */
const CLOSE_POLL_MS = 25;

/**
 * How long {@link MeshClient.close} lets requests in flight finish before it
 * aborts them with `MESH_CLOSED`: 5 s, like Envoy's default drain time.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/** Options of {@link MeshClient.close}. */
export interface CloseOptions {
  /**
   * How long requests in flight may take to finish (streaming bodies
   * included) before they are aborted with `MESH_CLOSED`, in milliseconds.
   * Default {@link DEFAULT_CLOSE_TIMEOUT_MS}; `0` aborts at once;
   * `Infinity` waits for ever (undici's `close()`).
   */
  timeoutMs?: number;
}

/**
 * Options of {@link MeshClient.request}: undici's request options without the
 * URL parts. `body` may also be a function returning the body: the mesh calls
 * it once per attempt, which makes any body replayable (so retriable).
 */
export type MeshRequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method' | 'dispatcher' | 'body'> &
  Partial<Pick<Dispatcher.RequestOptions, 'method'>> & {
    /** The request body, or a function returning it (called once per attempt: replayable). */
    body?: Dispatcher.RequestOptions['body'] | (() => NonNullable<Dispatcher.RequestOptions['body']>);
    /** Per-request overrides of the service's retry, timeout and hedge policies (field by field; `false` turns one off). */
    mesh?: RequestPolicyOverrides;
  };

/** Per-request policy overrides: the `mesh` option of {@link MeshRequestOptions}. The retry budget stays per service. */
export interface RequestPolicyOverrides {
  /** Overrides the service's {@link RetryOptions} for this request; `false`: no retry. */
  retry?: Omit<RetryOptions, 'budget'> | false;
  /** Overrides the service's {@link TimeoutOptions} for this request; `false`: no deadline. */
  timeout?: TimeoutOptions | false;
  /** Overrides the service's {@link HedgeOptions} for this request; `false`: no hedge. */
  hedge?: HedgeOptions | false;
}

/**
 * Plain-JSON state of the mesh, from {@link MeshClient.snapshot}, like
 * Envoy's config dump: every field is documented in docs/observability.md.
 */
export interface MeshSnapshot {
  /** The configuration version: 1 at construction, +1 per applied update. */
  version: number;
  /** When the snapshot was taken: milliseconds since the epoch (the client's clock). */
  time: number;
  /** True once {@link MeshClient.close} or {@link MeshClient.destroy} was called. */
  closed: boolean;
  /** The egress rule in force. */
  egress: 'allow' | 'deny';
  /** How many times an observer, event listener or logger threw. */
  observerErrors: number;
  /** What telemetry does right now. */
  telemetry: TelemetrySnapshot;
  /** Every configured service by name. */
  services: Record<string, ServiceSnapshot>;
}

/** One service in a {@link MeshSnapshot}. */
export interface ServiceSnapshot {
  /** The policy and its options, e.g. `{ policy: 'round-robin' }`. */
  loadBalancer: LoadBalancerChoice;
  /** Pool settings in force, defaults filled in. */
  connection: Record<string, number>;
  /** How many endpoints the balancer may pick now. */
  usableEndpoints: number;
  /** Attempts in flight over all endpoints. */
  inflight: number;
  /** Each endpoint with its attributes and live counters (url, weight, zone, priority, labels, inflight, attempts, failures, connected). */
  endpoints: Record<string, unknown>[];
  /** Routes with their split shares, and each destination's priority/locality groups and panic state. */
  routing: Record<string, unknown>;
  /** TLS state: material generation (0 without `tls` settings), `requireTls`, identity policy, client certificate expiry. */
  tls: Record<string, unknown>;
  /** True while too few endpoints are up and all of them are used (see `panicThreshold`). */
  panic: boolean;
  /** Where the endpoints come from, when discovery providers back the service. */
  discovery?: ServiceDiscoveryStatus;
  /** Panic, service breaker, retry budget, bulkhead and ejection counts. */
  resilience: Record<string, unknown>;
  /** The service's fault injection in force (`{ delay, abort }`), when on; routes show their own in `routing`. */
  faults?: FaultSpec;
}

/** The state the request path reads: swapped whole, never edited. */
interface State {
  readonly version: number;
  readonly config: ResolvedConfig;
  readonly services: ReadonlyMap<string, ServiceRuntime>;
  readonly routes: Map<string, RequestRoute>;
}

/**
 * A client-side service mesh around undici. Requests to `http://<service>/...`
 * go to the endpoints of `<service>`: balanced, retried, timed out, guarded by
 * circuit breakers and outlier detection, and observed; other hosts follow the
 * `egress` rule.
 *
 * Three doors share one pipeline: {@link MeshClient.fetch},
 * {@link MeshClient.request} and {@link MeshClient.dispatcher}.
 *
 * @example
 * ```ts
 * const mesh = new MeshClient({ services: { orders: { endpoints: ['http://127.0.0.1:8081'] } } });
 * const res = await mesh.fetch('http://orders/orders/42');
 * await mesh.close();
 * ```
 */
export class MeshClient extends EventEmitter<MeshEvents> {
  /**
   * The mesh as an undici dispatcher: `fetch(url, { dispatcher: mesh.dispatcher })`
   * or `undici.request(url, { dispatcher: mesh.dispatcher })`.
   */
  readonly dispatcher: Dispatcher;

  /**
   * WHATWG `fetch` through the mesh (undici's own `fetch`, so the response is
   * undici's `Response`). A plain function, usable unbound
   * (`{ fetch: mesh.fetch }`), typed as {@link MeshFetch} (assignable to
   * `typeof globalThis.fetch`); it takes any `Request`, Node's global one
   * too. Bodies whose bytes are known (string, `ArrayBuffer` and views,
   * `Buffer`, `URLSearchParams`, `Blob`, `FormData`) are replayable, so
   * retried like `mesh.request`'s; streams are sent once.
   *
   * Mesh refusals and transport failures before the response reject with
   * the {@link MeshError} itself rather than fetch's generic `TypeError`; a
   * failure while the body streams errors the body with fetch's
   * `TypeError('terminated')` whose `cause` is the {@link MeshError}; a
   * caller's abort rejects with the usual `AbortError`.
   * See docs/http-clients.md for third-party clients.
   */
  readonly fetch: MeshFetch;

  readonly #bus: EventBus;
  readonly #telemetry: Telemetry;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #transport: ((origin: string) => Dispatcher) | undefined;
  #state: State;
  /** Endpoint runtime state by service, then URL: what survives config updates. */
  readonly #endpoints = new Map<string, Map<string, EndpointState>>();
  readonly #registry: DiscoveryRegistry;
  readonly #checkers = new Map<string, HealthChecker>();
  readonly #env: RequestEnvironment;
  /** What each service's resilience runtime gets: the request environment's bus, clock and random, and the connect probe. */
  readonly #resilienceEnv: ResilienceEnvironment;
  /** Resilience runtime by service: budgets, breakers, ejections survive config updates. */
  readonly #resilience = new Map<string, ServiceResilience<EndpointState>>();
  #egressAgent: Agent | undefined;
  #rampTimer: TimerHandle | undefined;
  /** Health events queued while a new state is being built. */
  #batch: HealthEventInput[] | undefined;
  /** TLS runtimes and credential caches by service. */
  readonly #security: SecurityRegistry;
  #closing: Promise<void> | undefined;
  /** Stop functions of the config sources being watched. */
  readonly #configWatches = new Set<() => void>();

  /**
   * Validates `options` and builds the mesh. No connection is opened until
   * the first request. Throws {@link MeshConfigError} listing every problem.
   */
  constructor(options: MeshClientOptions = {}) {
    super();
    const issues: ConfigIssue[] = [];
    const root = checkObject(options, '', issues);
    if (!root) throw new MeshConfigError(issues);
    const raw = root;
    const observers = checkObservers(raw.observers, issues);
    const logger = checkLogger(raw.logger, issues);
    if (raw.random !== undefined && typeof raw.random !== 'function') {
      issues.push({ path: 'random', message: `expected a function returning [0, 1), found ${describe(raw.random)}` });
    }
    const clock = checkClock(raw.clock, issues);
    const telemetry = checkTelemetry(raw.telemetry, issues);
    if (raw.transport !== undefined && typeof raw.transport !== 'function') {
      issues.push({ path: 'transport', message: `expected a function (origin) => Dispatcher, found ${describe(raw.transport)}` });
    }
    let config: ResolvedConfig | undefined;
    try {
      config = resolveConfig(options, CLIENT_KEYS);
    } catch (error) {
      if (!(error instanceof MeshConfigError)) throw error;
      issues.push(...error.issues);
    }
    if (issues.length > 0 || !config) throw new MeshConfigError(issues);

    this.#clock = clock;
    this.#random = (raw.random as (() => number) | undefined) ?? Math.random;
    const transport = raw.transport as ((origin: string) => Dispatcher) | undefined;
    this.#transport = transport && ((origin: string) => new BridgedDispatcher(transport(origin)));
    this.#bus = new EventBus(this, observers, logger);
    this.#telemetry = new Telemetry(telemetry, () => this.snapshot());
    this.#bus.setSink(this.#telemetry);
    this.#security = new SecurityRegistry(clock, this.#bus);
    this.#env = { bus: this.#bus, clock, random: this.#random, tracing: this.#telemetry.tracing, live: new Set() };
    // A user's transport dials the endpoints itself: a TCP connect would say nothing about it.
    this.#resilienceEnv = { bus: this.#bus, clock, random: this.#random, connectProbe: transport ? undefined : tcpConnectProbe };
    this.dispatcher = new MeshDispatcher({
      dispatch: (opts, handler) => this.#dispatch(opts, handler),
      close: () => this.close(),
      destroy: (error) => this.destroy(error),
    });
    this.fetch = createMeshFetch({ dispatcher: this.dispatcher, closedError: () => (this.closed ? closedError() : undefined) });
    this.#state = { version: 0, config, services: new Map(), routes: new Map() };
    this.#registry = new DiscoveryRegistry(
      { clock, random: this.#random, logger },
      {
        changed: (service) => this.#rediscovered(service),
        event: (e) => this.#bus.health({ ...e, time: this.#clock.wallNow() }),
        metric: (m) => {
          if (!this.#bus.wantsMetrics) return;
          const base = { service: m.service, time: this.#clock.wallNow(), provider: m.provider };
          if (m.kind === 'update') this.#bus.metric({ type: 'discovery-update', ...base, endpoints: m.endpoints });
          else this.#bus.metric({ type: 'discovery-error', ...base, error: m.error });
        },
      },
    );
    this.#apply(config);
  }

  /** True once {@link MeshClient.close} or {@link MeshClient.destroy} was called: new requests fail with `MESH_CLOSED`. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * The dispatch options `undici.request(url, options)` would build, for the
   * plain case: an `http:` or `https:` URL (string or `URL`), and options
   * without `path` or `agent`. `undefined` for anything else, which goes
   * through `undici.request` itself (its URL forms and its errors). undici
   * builds them as `{ ...opts, origin, path, method }`, which costs about
   * 1.5 µs per request on Node 20 (docs/benchmarks.md, "Object spreads on
   * Node 20"); this is the same object, built with {@link assignOver}.
   */
  #requestOptions(url: string | URL, options: MeshRequestOptions | undefined): Dispatcher.RequestOptions | undefined {
    if (options !== undefined && (options === null || typeof options !== 'object' || (options as { path?: unknown }).path != null || (options as { agent?: unknown }).agent)) return undefined;
    let parsed: URL;
    if (typeof url === 'string') {
      try {
        parsed = new URL(url);
      } catch {
        return undefined; // undici.request throws its own error for it
      }
    } else if (url instanceof URL) parsed = url;
    else return undefined;
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
    const method = options?.method || (options?.body ? 'PUT' : 'GET');
    const path = parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname;
    return assignOver(options, { dispatcher: this.dispatcher, origin: parsed.origin, path, method }) as Dispatcher.RequestOptions;
  }

  /**
   * A view of {@link MeshClient.dispatcher} for a consumer that closes the
   * dispatcher it is given (an SDK whose `client.close()` closes its agent):
   * it routes through the mesh like `mesh.dispatcher`, but its `close()` and
   * `destroy()` detach only the view. Later dispatches through a detached
   * view fail with undici's `ClientClosedError`; the mesh keeps serving. The
   * mesh stays owned by this client: close it with {@link MeshClient.close}.
   *
   * @example
   * ```ts
   * const sdk = new SomeClient({ dispatcher: mesh.borrowDispatcher() });
   * await sdk.close(); // closes the view, not the mesh
   * ```
   */
  borrowDispatcher(): BorrowedDispatcher {
    return new BorrowedDispatcher(this.dispatcher);
  }

  /**
   * undici's `request` through the mesh: the fast path. Resolves with
   * `{ statusCode, headers, body }` (a 5xx is a response, not an error);
   * consume or dump `body` to free the connection.
   */
  request(url: string | URL, options?: MeshRequestOptions): Promise<Dispatcher.ResponseData<unknown>> {
    // Not `async`: undici's promise is returned as it is (one promise and two ticks fewer per request);
    // a synchronous throw (an invalid URL) still becomes a rejection.
    if (this.closed) return Promise.reject(closedError());
    try {
      const direct = this.#requestOptions(url, options);
      if (direct !== undefined) return this.dispatcher.request(direct);
      return undiciRequest(url, assignOver(options, { dispatcher: this.dispatcher }) as Parameters<typeof undiciRequest>[1]);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * Validates `config` and, if valid, swaps it in atomically: requests in
   * flight finish under the configuration they started with; endpoints that
   * remain keep their pools and counters; removed ones drain and close.
   * Throws {@link MeshConfigError} and changes nothing when invalid.
   */
  async updateConfig(config: MeshConfig): Promise<void> {
    if (this.closed) throw closedError();
    this.#update(config, undefined);
  }

  /**
   * Takes the configuration from `source` (a watched file, an etcd key, ...)
   * with the rules of {@link MeshClient.updateConfig}: each document is
   * validated whole and applied atomically, or rejected whole with a `config`
   * `rejected` event (also when the source cannot be read or parsed) while the
   * last good config keeps serving. Resolves once the source delivered its
   * first document or error, with the function that stops watching;
   * {@link MeshClient.close} stops every watch too.
   *
   * @example
   * ```ts
   * const mesh = new MeshClient({});
   * const stop = await mesh.watchConfig(fileConfigSource('mesh.yaml'));
   * ```
   */
  watchConfig(source: ConfigSource): Promise<() => void> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise((resolve) => {
      let settled = false;
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        this.#configWatches.delete(stop);
        stopSource?.();
      };
      const first = () => {
        if (settled) return;
        settled = true;
        resolve(stop);
      };
      this.#configWatches.add(stop);
      const stopSource: (() => void) | undefined = source.watch(
        {
          update: (config) => {
            if (stopped || this.closed) return;
            try {
              this.#update(config, source.name);
            } catch (error) {
              if (!(error instanceof MeshConfigError)) {
                this.#bus.config({ type: 'rejected', service: '*', time: this.#clock.wallNow(), issues: [{ path: '', message: String(error) }], source: source.name });
              }
            }
            first();
          },
          error: (error) => {
            if (stopped || this.closed) return;
            this.#bus.config({ type: 'rejected', service: '*', time: this.#clock.wallNow(), issues: [{ path: '', message: error.message }], source: source.name });
            first();
          },
        },
        { clock: this.#clock, random: this.#random },
      );
      if (stopped) stopSource();
    });
  }

  /** Validates and applies `config`, or emits `rejected` and throws. */
  #update(config: unknown, source: string | undefined): void {
    let resolved: ResolvedConfig;
    try {
      resolved = resolveConfig(config);
    } catch (error) {
      if (error instanceof MeshConfigError) {
        this.#bus.config({ type: 'rejected', service: '*', time: this.#clock.wallNow(), issues: error.issues, ...(source === undefined ? {} : { source }) });
      }
      throw error;
    }
    this.#apply(resolved, source);
  }

  /**
   * Pushes new TLS material for `service` (the given fields replace the
   * current ones; values or `{ file }`). New connections use it at once;
   * requests in flight finish on their connections. Invalid material is
   * refused: a `tls-update-rejected` health event, a {@link MeshConfigError}
   * naming the field, and the current material stays.
   */
  async updateTls(service: string, material: TlsMaterialUpdate): Promise<void> {
    if (this.closed) throw closedError();
    const tls = this.#security.tls(service);
    if (!tls) {
      throw new MeshConfigError([{ path: `services.${service}.tls`, message: `service "${service}" has no tls settings to update` }]);
    }
    await tls.update(material);
  }

  /** The whole picture as plain JSON: config version, services, endpoints and their counters. */
  snapshot(): MeshSnapshot {
    const state = this.#state;
    const services: MeshSnapshot['services'] = {};
    for (const [name, svc] of state.services) {
      services[name] = {
        loadBalancer: { policy: svc.config.loadBalancer.policy, ...svc.config.loadBalancer.options },
        connection: { ...svc.config.connection },
        usableEndpoints: svc.main.eligible,
        panic: svc.panic,
        resilience: svc.resilience?.toJSON() ?? {},
        endpoints: svc.endpoints.map((e) => ({ ...e.toJSON(), ...svc.resilience?.describeEndpoint(e) })),
        inflight: svc.endpoints.reduce((n, e) => n + e.inflight, 0),
        routing: svc.describeRouting(),
        tls: tlsSnapshot(svc.security),
      };
      const discovery = this.#registry.status(name);
      if (discovery) services[name]!.discovery = discovery;
      const faults = svc.config.faults;
      if (faults) services[name]!.faults = JSON.parse(JSON.stringify(faults)) as ServiceSnapshot['faults'];
    }
    return {
      version: state.version,
      time: this.#clock.wallNow(),
      closed: this.closed,
      egress: state.config.egress,
      observerErrors: this.#bus.observerErrors,
      telemetry: this.#telemetry.describe(),
      services,
    };
  }

  /**
   * Resolves once every discovery provider has answered at least once (with
   * endpoints or an error), so the first requests do not race the first DNS
   * query or etcd read. Resolves `true` then, or `false` after `timeoutMs`
   * (default 5,000) with some provider still silent (or when the mesh
   * closes first); it never rejects. Configured `endpoints` are ready at once.
   *
   * @example
   * ```ts
   * const mesh = new MeshClient({ discovery: dnsDiscovery(), services: { orders: {} } });
   * await mesh.ready();
   * ```
   */
  ready(options: { timeoutMs?: number } = {}): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: unknown;
      const cancel = this.#registry.onSettled(() => {
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        resolve(!this.closed);
      });
      if (!this.#registry.settled) {
        // Kept alive: the caller awaits this promise, as it would a request.
        timer = this.#clock.setTimeout(
          () => {
            cancel();
            resolve(false);
          },
          options.timeoutMs ?? 5_000,
          true,
        );
      }
    });
  }

  /**
   * The dependency health of every service: how many endpoints are usable
   * and why the others are not (`unhealthy`, `ejected`, `circuit-open`,
   * `draining`), panic mode and discovery state. What a readiness probe can
   * report.
   *
   * @example
   * ```ts
   * // A readiness probe that reports why the orders dependency is not ready.
   * const h = mesh.health();
   * res.statusCode = h.healthy ? 200 : 503;
   * res.end(JSON.stringify(h.services.orders?.down ?? []));
   * ```
   */
  health(): MeshHealth {
    return buildHealthReport(this.#state.services, (name) => this.#registry.status(name), this.#checkers);
  }

  /**
   * Shuts the mesh down gracefully, like Envoy's drain: new requests are
   * refused with `MESH_CLOSED` at once; requests in flight (streaming
   * response bodies included) get up to `timeoutMs` (default
   * {@link DEFAULT_CLOSE_TIMEOUT_MS}, 5 s) to finish, then are aborted with
   * `MESH_CLOSED`. Then every connection pool, timer and watch is freed, so a
   * process with a closed mesh exits by itself. Calling it again returns the
   * same promise; {@link MeshClient.destroy} during the drain aborts at once.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void mesh.close({ timeoutMs: 10_000 }));
   * ```
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (!(timeoutMs >= 0)) return Promise.reject(new TypeError(`close: timeoutMs must be a number >= 0, found ${describe(timeoutMs)}`));
    this.#stopControl();
    this.#closing = this.#drain(timeoutMs).then((drained) => this.#release(drained));
    return this.#closing;
  }

  /**
   * Shuts the mesh down at once: every request in flight (streaming response
   * bodies included) fails with `MESH_CLOSED` (whose `cause` is `error`, when
   * given), then pools, timers and watches are freed as by
   * {@link MeshClient.close}. Also ends a {@link MeshClient.close} still
   * draining; resolves when everything is freed.
   */
  destroy(error?: Error | null): Promise<void> {
    this.#abortLive(error ?? undefined);
    if (this.#closing) return this.#closing;
    this.#stopControl();
    this.#closing = this.#release(false);
    return this.#closing;
  }

  /** Stops everything that is not a request: watches, timers, telemetry, discovery, health checks. */
  #stopControl(): void {
    for (const stop of [...this.#configWatches]) stop();
    if (this.#rampTimer !== undefined) this.#clock.clearTimeout(this.#rampTimer);
    this.#rampTimer = undefined;
    this.#telemetry.close();
    this.#security.close();
    for (const r of this.#resilience.values()) r.close();
  }

  /** Resolves true once no request is in flight, or false after `timeoutMs` (the rest are then aborted, and the pools are destroyed). */
  #drain(timeoutMs: number): Promise<boolean> {
    const live = this.#env.live;
    if (live.size === 0) return Promise.resolve(true);
    if (timeoutMs === 0) {
      this.#abortLive(undefined, 0);
      return Promise.resolve(false);
    }
    return new Promise((resolve) => {
      // Polled, not signalled: the request path stays free of close-time hooks. The timers are unref'd:
      // the requests themselves hold the process (src/util/process-hold.ts).
      const started = this.#clock.now();
      const tick = Math.max(1, Math.min(CLOSE_POLL_MS, timeoutMs));
      const poll = (): void => {
        if (live.size === 0) resolve(true);
        else if (this.#clock.now() - started >= timeoutMs) {
          this.#abortLive(undefined, timeoutMs);
          resolve(false);
        } else this.#clock.setTimeout(poll, tick);
      };
      this.#clock.setTimeout(poll, tick);
    });
  }

  /** Fails every request in flight with `MESH_CLOSED`. */
  #abortLive(cause: Error | undefined, drainedMs?: number): void {
    const live = this.#env.live;
    if (live.size === 0) return;
    const message =
      drainedMs === undefined ? 'the mesh was destroyed' : `the mesh closed: the request did not finish within the ${drainedMs} ms drain`;
    for (const request of [...live]) {
      request.shutdown(new MeshError('MESH_CLOSED', message, cause === undefined ? {} : { cause }));
    }
    live.clear();
  }

  /** Frees pools (closed when drained, destroyed otherwise), discovery and health checkers. */
  #release(drained: boolean): Promise<void> {
    const closing: Promise<unknown>[] = [];
    for (const byUrl of this.#endpoints.values()) for (const e of byUrl.values()) closing.push(drained ? e.close() : e.destroy());
    const egress = this.#egressAgent;
    this.#egressAgent = undefined;
    if (egress) closing.push(drained ? egress.close() : egress.destroy());
    closing.push(this.#registry.close());
    for (const checker of this.#checkers.values()) closing.push(checker.close());
    this.#checkers.clear();
    return Promise.all(closing).then(() => {
      trace('closed');
    });
  }

  // ---- request path ----

  #dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const route = this.closed
      ? { kind: 'refused' as const, error: closedError(), host: '' }
      : this.#route(opts.origin);
    new MeshRequest(this.#env, route, opts, handler).start();
    return true;
  }

  #route(origin: string | URL | undefined): RequestRoute {
    const state = this.#state;
    const key = typeof origin === 'string' ? origin : String(origin);
    const cached = state.routes.get(key);
    if (cached) return cached;
    let url: URL;
    try {
      url = new URL(key);
    } catch {
      return {
        kind: 'refused',
        error: new MeshError('MESH_INVALID_REQUEST', `the request has no valid origin (found ${describe(origin)})`),
        host: '',
      };
    }
    const host = url.hostname;
    const service = state.services.get(host);
    let route: RequestRoute;
    if (service) {
      const secure = url.protocol === 'https:' || service.security?.requireTls === true;
      route = { kind: 'service', service, authority: url.host, servername: serverNameOf(url.host), secure };
    } else if (state.config.egress === 'deny' && !egressAllowed(host, state.config.egressAllow)) {
      route = {
        kind: 'refused',
        host,
        error: new MeshError(
          'MESH_UNKNOWN_SERVICE',
          `"${host}" is not a configured service and egress is "deny"${state.config.egressAllow.length > 0 ? ' (it is not on the egress allow-list)' : ''}`,
          { service: host },
        ),
      };
    } else {
      const dispatcher = this.#transport ? this.#transport(url.origin) : (this.#egressAgent ??= new Agent());
      route = { kind: 'egress', dispatcher, origin: url.origin, host };
    }
    if (state.routes.size >= ROUTE_CACHE_LIMIT) state.routes.clear();
    state.routes.set(key, route);
    return route;
  }

  // ---- control side ----

  /**
   * While endpoints are in slow start, re-runs balancer updates every tenth
   * of the shortest window so balancers that cache weights see the ramp.
   */
  #scheduleRamp(): void {
    if (this.#rampTimer !== undefined || this.closed) return;
    let shortest = Infinity;
    for (const svc of this.#state.services.values()) {
      if (svc.config.slowStart) shortest = Math.min(shortest, svc.config.slowStart.windowMs);
    }
    if (!Number.isFinite(shortest)) return;
    const tick = Math.max(50, Math.floor(shortest / 10));
    const run = () => {
      this.#rampTimer = undefined;
      if (this.closed) return;
      let still = false;
      for (const svc of this.#state.services.values()) {
        if (!svc.endpoints.some((e) => e.ramping)) continue;
        svc.refreshWeights();
        still ||= svc.endpoints.some((e) => e.ramping);
      }
      if (still) this.#rampTimer = this.#clock.setTimeout(run, tick);
    };
    this.#rampTimer = this.#clock.setTimeout(run, tick);
  }

  /** Builds the next state from a validated config and swaps it in. */
  #apply(config: ResolvedConfig, source?: string): void {
    const previous = this.#state;
    const services = new Map<string, ServiceRuntime>();
    const draining: Promise<void>[] = [];
    const events: HealthEventInput[] = [];
    this.#batch = events;
    let ramping = false;

    const plans = new Map<string, DiscoveryPlan>();
    for (const [name, svc] of config.services) plans.set(name, { discovery: svc.discovery, endpoints: svc.endpoints });
    this.#registry.sync(plans);

    for (const [name, svc] of config.services) {
      const runtime = this.#buildService(svc, this.#registry.endpoints(name), previous.services.get(name), draining, events, previous.version === 0);
      ramping ||= runtime.endpoints.some((e) => e.ramping);
      services.set(name, runtime);
    }
    // Services that disappeared: every endpoint is removed.
    for (const [name, byUrl] of this.#endpoints) {
      if (config.services.has(name)) continue;
      for (const [url, state] of byUrl) {
        draining.push(state.close());
        events.push({ type: 'endpoint-removed', service: name, endpoint: url });
      }
      this.#endpoints.delete(name);
      this.#resilience.get(name)?.close();
      this.#resilience.delete(name);
    }

    this.#security.retain(config.services);
    const version = previous.version + 1;
    this.#state = { version, config, services, routes: new Map() };
    trace('applied config version %d (%d services)', version, services.size);
    // After the swap: clearing 'unhealthy' marks must refresh the new runtimes.
    for (const [name, checker] of this.#checkers) {
      if (services.get(name)?.config.healthCheck) continue;
      this.#checkers.delete(name);
      void checker.close();
    }
    for (const runtime of services.values()) this.#syncHealth(runtime);
    void Promise.allSettled(draining);
    this.#batch = undefined;
    if (ramping) this.#scheduleRamp();
    const time = this.#clock.wallNow();
    for (const e of events) this.#bus.health({ ...e, time });
    this.#bus.config({ type: 'applied', service: '*', time, version, ...(source === undefined ? {} : { source }) });
  }

  /** A discovery provider changed the endpoints of one service: swap in its next runtime. */
  #rediscovered(name: string): void {
    if (this.closed) return;
    const state = this.#state;
    const svc = state.config.services.get(name);
    if (!svc) return;
    const draining: Promise<void>[] = [];
    const events: HealthEventInput[] = [];
    const runtime = this.#buildService(svc, this.#registry.endpoints(name), state.services.get(name), draining, events);
    const services = new Map(state.services);
    services.set(name, runtime);
    this.#state = { ...state, services, routes: new Map() };
    trace('%s: discovery applied %d endpoints', name, runtime.endpoints.length);
    this.#syncHealth(runtime);
    void Promise.allSettled(draining);
    const time = this.#clock.wallNow();
    for (const e of events) this.#bus.health({ ...e, time });
  }

  /**
   * Builds one service's runtime from its endpoint set, reusing endpoint
   * state by URL (pools and counters carry over) and the balancer when its
   * policy is unchanged. Removed endpoints are marked draining and closed.
   */
  #buildService(
    svc: ResolvedService,
    endpoints: readonly Endpoint[],
    old: ServiceRuntime | undefined,
    draining: Promise<void>[],
    events: HealthEventInput[],
    initial = false,
  ): ServiceRuntime {
    const name = svc.name;
    let byUrl = this.#endpoints.get(name);
    if (!byUrl) this.#endpoints.set(name, (byUrl = new Map()));
    const security = this.#security.apply(name, svc.security);
    const states: EndpointState[] = [];
    const keep = new Set<string>();
    // One callback shared by the service's endpoints (no closure per endpoint).
    const onDownChange = (): void => this.#downChanged(name);
    for (const endpoint of endpoints) {
      keep.add(endpoint.url);
      let state = byUrl.get(endpoint.url);
      if (state) {
        const oldPool = state.reconfigure(endpoint, svc.connection, security.tls);
        if (oldPool) draining.push(oldPool.close());
      } else {
        state = new EndpointState(endpoint, svc.connection, security.tls, this.#transport);
        state.onDownChange = onDownChange;
        byUrl.set(endpoint.url, state);
        if (svc.slowStart && !initial) {
          state.startSlowStart(() => this.#clock.now(), svc.slowStart.windowMs, svc.slowStart.minWeightPercent / 100);
        }
        events.push({ type: 'endpoint-added', service: name, endpoint: endpoint.url });
      }
      states.push(state);
    }
    for (const [url, state] of byUrl) {
      if (keep.has(url)) continue;
      byUrl.delete(url);
      state.onDownChange = undefined;
      state.setDown('draining', true);
      draining.push(state.close());
      events.push({ type: 'endpoint-removed', service: name, endpoint: url });
    }
    let resilience = this.#resilience.get(name);
    if (!resilience) this.#resilience.set(name, (resilience = new ServiceResilience(name, this.#resilienceEnv)));
    const runtime = new ServiceRuntime(svc, states, this.#runtimeEnv(), old, security, resilience);
    resilience.configure(svc.resilience, runtime);
    if (runtime.endpoints.some((e) => e.ramping)) this.#scheduleRamp();
    return runtime;
  }

  /**
   * What a service runtime needs: randomness, time, other services (read from
   * the current state, for splits to another service) and a panic reporter
   * (a destination's panic transitions become `panic` health events).
   */
  #runtimeEnv(): RuntimeEnvironment {
    return {
      random: this.#random,
      now: () => this.#clock.now(),
      lookup: (service) => this.#state.services.get(service),
      onPanic: (service, destination, entering, { up, total, threshold }) => {
        const where = destination === service ? '' : `${destination}: `;
        this.#emitHealth({
          type: 'panic',
          service,
          reason: entering
            ? `${where}entered panic mode: ${up} of ${total} endpoints up (threshold ${threshold}%); using all`
            : `${where}left panic mode: ${up} of ${total} endpoints up`,
        });
      },
    };
  }

  /** Emits now, or queues into the batch being applied (so events follow the state swap). */
  #emitHealth(event: HealthEventInput): void {
    if (this.#batch) this.#batch.push(event);
    else this.#bus.health({ ...event, time: this.#clock.wallNow() });
  }

  /** Starts, updates or stops the active health checker of a service. */
  #syncHealth(runtime: ServiceRuntime): void {
    const config = runtime.config.healthCheck;
    let checker = this.#checkers.get(runtime.name);
    if (!config) return;
    if (checker) checker.reconfigure(config);
    else {
      checker = new HealthChecker(runtime.name, config, {
        clock: this.#clock,
        random: this.#random,
        emit: (e) => this.#bus.health({ ...e, time: this.#clock.wallNow() }),
      });
      this.#checkers.set(runtime.name, checker);
    }
    runtime.traffic = checker;
    checker.setEndpoints(runtime.endpoints);
  }

  /** An endpoint of `name` gained or lost a down reason: recompute the current runtime's usable list. */
  #downChanged(name: string): void {
    const runtime = this.#state.services.get(name);
    if (!runtime) return;
    runtime.refresh();
  }
}


function tlsSnapshot(security: ServiceRuntime['security']): Record<string, unknown> {
  const tls = security?.tls;
  const out: Record<string, unknown> = { generation: tls?.generation ?? 0, requireTls: security?.requireTls ?? false };
  if (!tls) return out;
  const identity = tls.config.identity;
  if (identity) {
    out.identity = {
      ...(identity.trustDomain === undefined ? {} : { trustDomain: identity.trustDomain }),
      ...(identity.allow === undefined ? {} : { allow: [...identity.allow] }),
    };
  }
  out.clientCertificate = tls.material.cert !== undefined;
  if (tls.material.notAfter !== undefined) out.certificateNotAfter = new Date(tls.material.notAfter).toISOString();
  return out;
}

function closedError(): MeshError {
  return new MeshError('MESH_CLOSED', 'the mesh is closed');
}

function checkObservers(value: unknown, issues: ConfigIssue[]): Observer[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.push({ path: 'observers', message: `expected an array of observers, found ${describe(value)}` });
    return [];
  }
  const out: Observer[] = [];
  value.forEach((o, i) => {
    const path = `observers.${i}`;
    if (typeof o !== 'object' || o === null) {
      issues.push({ path, message: `expected an object with onHealth/onMetric/onConfig, found ${describe(o)}` });
      return;
    }
    for (const key of ['onHealth', 'onMetric', 'onConfig'] as const) {
      const fn = (o as Record<string, unknown>)[key];
      if (fn !== undefined && typeof fn !== 'function') {
        issues.push({ path: `${path}.${key}`, message: `expected a function, found ${describe(fn)}` });
      }
    }
    out.push(o as Observer);
  });
  return out;
}

function checkLogger(value: unknown, issues: ConfigIssue[]): Logger {
  if (value === undefined) return debugLogger;
  if (typeof value !== 'object' || value === null) {
    issues.push({ path: 'logger', message: `expected a logger with debug/info/warn/error, found ${describe(value)}` });
    return debugLogger;
  }
  for (const key of ['debug', 'info', 'warn', 'error']) {
    if (typeof (value as Record<string, unknown>)[key] !== 'function') {
      issues.push({ path: `logger.${key}`, message: 'expected a function' });
    }
  }
  return value as Logger;
}

function checkClock(value: unknown, issues: ConfigIssue[]): Clock {
  if (value === undefined) return systemClock;
  if (typeof value !== 'object' || value === null) {
    issues.push({ path: 'clock', message: `expected a clock object, found ${describe(value)}` });
    return systemClock;
  }
  for (const key of ['now', 'wallNow', 'setTimeout', 'clearTimeout']) {
    if (typeof (value as Record<string, unknown>)[key] !== 'function') {
      issues.push({ path: `clock.${key}`, message: 'expected a function' });
    }
  }
  return value as Clock;
}
