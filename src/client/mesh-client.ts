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
import { resolveConfig, type ResolvedConfig, type ResolvedService } from '../config/resolve.js';
import type { MeshClientOptions, MeshConfig } from '../config/types.js';
import { describe, type Endpoint } from '../discovery/endpoint.js';
import { DiscoveryRegistry, type DiscoveryPlan, type ServiceDiscoveryStatus } from '../discovery/registry.js';
import { HealthChecker } from '../health/checker.js';
import { buildHealthReport, type MeshHealth } from '../health/report.js';
import { MeshConfigError, MeshError, isMeshError, type ConfigIssue } from '../errors/mesh-error.js';
import { EventBus } from '../telemetry/event-bus.js';
import type { HealthEvent, MeshEvents, Observer } from '../telemetry/events.js';
import { systemClock, type Clock } from '../util/clock.js';
import { debugChannel, debugLogger, type Logger } from '../util/logger.js';
import { EndpointState } from './endpoint-state.js';
import { MeshDispatcher } from './mesh-dispatcher.js';
import { MeshRequest, type RequestRoute } from './mesh-request.js';
import { ServiceRuntime, createBalancer, sameBalancer } from './service-runtime.js';

const trace = debugChannel('client');
const CLIENT_KEYS = ['observers', 'logger', 'random', 'clock'] as const;
const ROUTE_CACHE_LIMIT = 1024;

/** Options of {@link MeshClient.request}: undici's request options without the URL parts. */
export type MeshRequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method' | 'dispatcher'> &
  Partial<Pick<Dispatcher.RequestOptions, 'method'>>;

/** Plain-JSON state of the mesh, from {@link MeshClient.snapshot}. */
export interface MeshSnapshot {
  /** The configuration version: 1 at construction, +1 per applied update. */
  version: number;
  closed: boolean;
  egress: 'allow' | 'deny';
  /** How many times an observer or event listener threw. */
  observerErrors: number;
  services: Record<
    string,
    {
      loadBalancer: { policy: string } & Record<string, unknown>;
      connection: Record<string, number>;
      usableEndpoints: number;
      /** True while too few endpoints are up and all of them are used (see `panicThreshold`). */
      panic: boolean;
      /** Where the endpoints come from, when discovery providers back the service. */
      discovery?: ServiceDiscoveryStatus;
      endpoints: Record<string, unknown>[];
    }
  >;
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
  readonly #clock: Clock;
  readonly #random: () => number;
  #state: State;
  /** Endpoint runtime state by service, then URL: what survives config updates. */
  readonly #endpoints = new Map<string, Map<string, EndpointState>>();
  readonly #registry: DiscoveryRegistry;
  readonly #checkers = new Map<string, HealthChecker>();
  #egressAgent: Agent | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Validates `options` and builds the mesh. No connection is opened until
   * the first request. Throws {@link MeshConfigError} listing every problem.
   */
  constructor(options: MeshClientOptions = {}) {
    super();
    const issues: ConfigIssue[] = [];
    const raw = checkObject(options, '', issues) ?? {};
    const observers = checkObservers(raw.observers, issues);
    const logger = checkLogger(raw.logger, issues);
    if (raw.random !== undefined && typeof raw.random !== 'function') {
      issues.push({ path: 'random', message: `expected a function returning [0, 1), found ${describe(raw.random)}` });
    }
    const clock = checkClock(raw.clock, issues);
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
    this.#bus = new EventBus(this, observers, logger);
    this.dispatcher = new MeshDispatcher({
      dispatch: (opts, handler) => this.#dispatch(opts, handler),
      close: () => this.close(),
    });
    this.#state = { version: 0, config, services: new Map(), routes: new Map() };
    this.#registry = new DiscoveryRegistry(
      { clock, random: this.#random, logger },
      {
        changed: (service) => this.#rediscovered(service),
        event: (e) => this.#bus.health({ ...e, time: this.#clock.wallNow() }),
      },
    );
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

  /** The whole picture as plain JSON: config version, services, endpoints and their counters. */
  snapshot(): MeshSnapshot {
    const state = this.#state;
    const services: MeshSnapshot['services'] = {};
    for (const [name, svc] of state.services) {
      services[name] = {
        loadBalancer: { policy: svc.config.loadBalancer.policy, ...svc.config.loadBalancer.options },
        connection: { ...svc.config.connection },
        usableEndpoints: svc.usable.length,
        panic: svc.panic,
        endpoints: svc.endpoints.map((e) => e.toJSON()),
      };
      const discovery = this.#registry.status(name);
      if (discovery) services[name]!.discovery = discovery;
    }
    return {
      version: state.version,
      closed: this.closed,
      egress: state.config.egress,
      observerErrors: this.#bus.observerErrors,
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
        timer = this.#clock.setTimeout(() => {
          cancel();
          resolve(false);
        }, options.timeoutMs ?? 5_000);
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
   * const h = mesh.health();
   * if (h.services.orders.usable === 0) console.log(h.services.orders.down);
   * ```
   */
  health(): MeshHealth {
    return buildHealthReport(this.#state.services, (name) => this.#registry.status(name), this.#checkers);
  }

  /**
   * Closes every connection pool (after in-flight requests finish) and stops
   * every timer, so a process with a closed mesh exits by itself. Later
   * requests fail with `MESH_CLOSED`. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const closing: Promise<unknown>[] = [];
    for (const byUrl of this.#endpoints.values()) for (const e of byUrl.values()) closing.push(e.close());
    if (this.#egressAgent) closing.push(this.#egressAgent.close());
    this.#egressAgent = undefined;
    closing.push(this.#registry.close());
    for (const checker of this.#checkers.values()) closing.push(checker.close());
    this.#checkers.clear();
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
    new MeshRequest({ bus: this.#bus, clock: this.#clock }, route, opts, handler).start();
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
    if (service) route = { kind: 'service', service, authority: url.host };
    else if (state.config.egress === 'deny') {
      route = {
        kind: 'refused',
        host,
        error: new MeshError(
          'MESH_UNKNOWN_SERVICE',
          `"${host}" is not a configured service and egress is "deny"`,
          { service: host },
        ),
      };
    } else {
      this.#egressAgent ??= new Agent();
      route = { kind: 'egress', dispatcher: this.#egressAgent, origin: url.origin, host };
    }
    if (state.routes.size >= ROUTE_CACHE_LIMIT) state.routes.clear();
    state.routes.set(key, route);
    return route;
  }

  // ---- control side ----

  /** Builds the next state from a validated config and swaps it in. */
  #apply(config: ResolvedConfig): void {
    const previous = this.#state;
    const services = new Map<string, ServiceRuntime>();
    const draining: Promise<void>[] = [];
    const events: HealthEventInput[] = [];

    const plans = new Map<string, DiscoveryPlan>();
    for (const [name, svc] of config.services) plans.set(name, { discovery: svc.discovery, endpoints: svc.endpoints });
    this.#registry.sync(plans);

    for (const [name, svc] of config.services) {
      const runtime = this.#buildService(svc, this.#registry.endpoints(name), previous.services.get(name), draining, events);
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
    }

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
    const time = this.#clock.wallNow();
    for (const e of events) this.#bus.health({ ...e, time });
    this.#bus.config({ type: 'applied', service: '*', time, version });
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
  ): ServiceRuntime {
    const name = svc.name;
    let byUrl = this.#endpoints.get(name);
    if (!byUrl) this.#endpoints.set(name, (byUrl = new Map()));
    const states: EndpointState[] = [];
    const keep = new Set<string>();
    for (const endpoint of endpoints) {
      keep.add(endpoint.url);
      let state = byUrl.get(endpoint.url);
      if (state) {
        const oldPool = state.reconfigure(endpoint, svc.connection);
        if (oldPool) draining.push(oldPool.close());
      } else {
        state = new EndpointState(endpoint, svc.connection);
        state.onDownChange = () => this.#downChanged(name);
        byUrl.set(endpoint.url, state);
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
    const balancer =
      old && sameBalancer(old.config.loadBalancer, svc.loadBalancer)
        ? old.balancer
        : createBalancer(svc.loadBalancer, { service: name, random: this.#random, now: this.#clock.now });
    const runtime = new ServiceRuntime(svc, states, balancer);
    if (runtime.panic !== (old?.panic ?? false)) events.push(panicEvent(runtime));
    return runtime;
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
    checker.setEndpoints(runtime.endpoints);
  }

  /** An endpoint of `name` gained or lost a down reason: recompute the current runtime's usable list. */
  #downChanged(name: string): void {
    const runtime = this.#state.services.get(name);
    if (!runtime) return;
    if (runtime.refresh()) this.#bus.health({ ...panicEvent(runtime), time: this.#clock.wallNow() });
  }
}

type HealthEventInput = Omit<HealthEvent, 'time'>;

function panicEvent(runtime: ServiceRuntime): HealthEventInput {
  const up = runtime.endpoints.filter((e) => e.up).length;
  const total = runtime.endpoints.length;
  return {
    type: 'panic',
    service: runtime.name,
    reason: runtime.panic
      ? `entered panic mode: ${up} of ${total} endpoints up (threshold ${runtime.config.panicThreshold}%); using all`
      : `left panic mode: ${up} of ${total} endpoints up`,
  };
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
