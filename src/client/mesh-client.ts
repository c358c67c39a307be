import { EventEmitter } from 'eventemitter3';
import {
  Agent,
  fetch as undiciFetch,
  request as undiciRequest,
  type Dispatcher,
  type RequestInfo,
  type RequestInit,
  type Response,
} from 'undici';
import { checkObject } from '../config/checks.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import type { LoadBalancerChoice, MeshClientOptions, MeshConfig } from '../config/types.js';
import { describe } from '../discovery/endpoint.js';
import { MeshConfigError, MeshError, isMeshError, type ConfigIssue } from '../errors/mesh-error.js';
import { egressAllowed } from '../security/egress.js';
import { SecurityRegistry } from '../security/registry.js';
import type { TlsMaterialUpdate } from '../security/types.js';
import { EventBus } from '../telemetry/event-bus.js';
import { checkTelemetry } from '../telemetry/options.js';
import { Telemetry, type TelemetrySnapshot } from '../telemetry/telemetry.js';
import type { HealthEvent, MeshEvents, Observer } from '../telemetry/events.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { debugChannel, debugLogger, type Logger } from '../util/logger.js';
import { EndpointState } from './endpoint-state.js';
import { BridgedDispatcher } from './legacy-bridge.js';
import { MeshDispatcher } from './mesh-dispatcher.js';
import { MeshRequest, type RequestRoute } from './mesh-request.js';
import { ServiceRuntime, type RuntimeEnvironment } from './service-runtime.js';

const trace = debugChannel('client');
const CLIENT_KEYS = ['observers', 'logger', 'random', 'clock', 'transport', 'telemetry'] as const;
const ROUTE_CACHE_LIMIT = 1024;

/** Options of {@link MeshClient.request}: undici's request options without the URL parts. */
export type MeshRequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method' | 'dispatcher'> &
  Partial<Pick<Dispatcher.RequestOptions, 'method'>>;

/**
 * Plain-JSON state of the mesh, from {@link MeshClient.snapshot}, like
 * Envoy's config dump: every field is documented in docs/observability.md.
 */
export interface MeshSnapshot {
  /** The configuration version: 1 at construction, +1 per applied update. */
  version: number;
  /** When the snapshot was taken: milliseconds since the epoch (the client's clock). */
  time: number;
  /** True once {@link MeshClient.close} was called. */
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
 * go to the endpoints of `<service>`, balanced, observed and (as features land)
 * retried, timed out and broken by circuit breakers; other hosts follow the
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

  readonly #bus: EventBus;
  readonly #telemetry: Telemetry;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #transport: ((origin: string) => Dispatcher) | undefined;
  #state: State;
  /** Endpoint runtime state by service, then URL: what survives config updates. */
  readonly #endpoints = new Map<string, Map<string, EndpointState>>();
  #egressAgent: Agent | undefined;
  #rampTimer: TimerHandle | undefined;
  /** TLS runtimes and credential caches by service. */
  readonly #security: SecurityRegistry;
  #closing: Promise<void> | undefined;

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
    this.dispatcher = new MeshDispatcher({
      dispatch: (opts, handler) => this.#dispatch(opts, handler),
      close: () => this.close(),
    });
    this.#state = { version: 0, config, services: new Map(), routes: new Map() };
    this.#apply(config);
  }

  /** True once {@link MeshClient.close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * WHATWG `fetch` through the mesh (undici's own `fetch`, so the response is
   * undici's `Response`). Mesh refusals and transport failures reject with
   * the {@link MeshError} itself rather than fetch's generic `TypeError`; a
   * caller's abort rejects with the usual `AbortError`.
   */
  async fetch(input: RequestInfo, init?: RequestInit): Promise<Response> {
    if (this.closed) throw closedError();
    try {
      return await undiciFetch(input, { ...init, dispatcher: this.dispatcher });
    } catch (error) {
      const cause = (error as { cause?: unknown } | undefined)?.cause;
      if (error instanceof TypeError && isMeshError(cause)) throw cause;
      throw error;
    }
  }

  /**
   * undici's `request` through the mesh: the fast path. Resolves with
   * `{ statusCode, headers, body }` (a 5xx is a response, not an error);
   * consume or dump `body` to free the connection.
   */
  async request(url: string | URL, options?: MeshRequestOptions): Promise<Dispatcher.ResponseData<unknown>> {
    if (this.closed) throw closedError();
    return undiciRequest(url, { ...options, dispatcher: this.dispatcher } as Parameters<typeof undiciRequest>[1]);
  }

  /**
   * Validates `config` and, if valid, swaps it in atomically: requests in
   * flight finish under the configuration they started with; endpoints that
   * remain keep their pools and counters; removed ones drain and close.
   * Throws {@link MeshConfigError} and changes nothing when invalid.
   */
  async updateConfig(config: MeshConfig): Promise<void> {
    if (this.closed) throw closedError();
    let resolved: ResolvedConfig;
    try {
      resolved = resolveConfig(config);
    } catch (error) {
      if (error instanceof MeshConfigError) {
        this.#bus.config({ type: 'rejected', service: '*', time: this.#clock.wallNow(), issues: error.issues });
      }
      throw error;
    }
    this.#apply(resolved);
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
        usableEndpoints: svc.usable.length,
        inflight: svc.endpoints.reduce((n, e) => n + e.inflight, 0),
        endpoints: svc.endpoints.map((e) => e.toJSON()),
        routing: svc.describeRouting(),
        tls: tlsSnapshot(svc.security),
      };
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
   * Closes every connection pool (after in-flight requests finish) and stops
   * every timer, so a process with a closed mesh exits by itself. Later
   * requests fail with `MESH_CLOSED`. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#rampTimer !== undefined) this.#clock.clearTimeout(this.#rampTimer);
    this.#rampTimer = undefined;
    const closing: Promise<unknown>[] = [];
    for (const byUrl of this.#endpoints.values()) for (const e of byUrl.values()) closing.push(e.close());
    if (this.#egressAgent) closing.push(this.#egressAgent.close());
    this.#telemetry.close();
    this.#security.close();
    this.#egressAgent = undefined;
    this.#closing = Promise.all(closing).then(() => {
      trace('closed');
    });
    return this.#closing;
  }

  // ---- request path ----

  #dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const route = this.closed
      ? { kind: 'refused' as const, error: closedError(), host: '' }
      : this.#route(opts.origin);
    new MeshRequest({ bus: this.#bus, clock: this.#clock, tracing: this.#telemetry.tracing }, route, opts, handler).start();
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
      route = { kind: 'service', service, authority: url.host, secure };
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
  #apply(config: ResolvedConfig): void {
    const previous = this.#state;
    const services = new Map<string, ServiceRuntime>();
    const draining: Promise<void>[] = [];
    const time = this.#clock.wallNow();
    const events: HealthEvent[] = [];
    const initial = previous.version === 0;
    const env: RuntimeEnvironment = {
      random: this.#random,
      now: () => this.#clock.now(),
      lookup: (service) => services.get(service),
      onPanic: (service, destination, entering) =>
        events.push({
          type: 'panic',
          service,
          time,
          reason: entering
            ? `${destination}: too few usable endpoints, using all of them (panic threshold)`
            : `${destination}: enough usable endpoints again, panic over`,
        }),
    };
    let ramping = false;

    for (const [name, svc] of config.services) {
      let byUrl = this.#endpoints.get(name);
      if (!byUrl) this.#endpoints.set(name, (byUrl = new Map()));
      const security = this.#security.apply(name, svc.security);
      const states: EndpointState[] = [];
      const keep = new Set<string>();
      for (const endpoint of svc.endpoints) {
        keep.add(endpoint.url);
        let state = byUrl.get(endpoint.url);
        if (state) {
          const oldPool = state.reconfigure(endpoint, svc.connection, security.tls);
          if (oldPool) draining.push(oldPool.close());
        } else {
          state = new EndpointState(endpoint, svc.connection, security.tls, this.#transport);
          byUrl.set(endpoint.url, state);
          if (svc.slowStart && !initial) {
            state.startSlowStart(() => this.#clock.now(), svc.slowStart.windowMs, svc.slowStart.minWeightPercent / 100);
            ramping = true;
          }
          events.push({ type: 'endpoint-added', service: name, endpoint: endpoint.url, time });
        }
        states.push(state);
      }
      for (const [url, state] of byUrl) {
        if (keep.has(url)) continue;
        byUrl.delete(url);
        draining.push(state.close());
        events.push({ type: 'endpoint-removed', service: name, endpoint: url, time });
      }
      services.set(name, new ServiceRuntime(svc, states, env, previous.services.get(name), security));
    }
    // Services that disappeared: every endpoint is removed.
    for (const [name, byUrl] of this.#endpoints) {
      if (config.services.has(name)) continue;
      for (const [url, state] of byUrl) {
        draining.push(state.close());
        events.push({ type: 'endpoint-removed', service: name, endpoint: url, time });
      }
      this.#endpoints.delete(name);
    }

    this.#security.retain(config.services);
    const version = previous.version + 1;
    this.#state = { version, config, services, routes: new Map() };
    trace('applied config version %d (%d services)', version, services.size);
    void Promise.allSettled(draining);
    if (ramping) this.#scheduleRamp();
    for (const e of events) this.#bus.health(e);
    this.#bus.config({ type: 'applied', service: '*', time, version });
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
