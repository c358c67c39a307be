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
import type { MeshClientOptions, MeshConfig } from '../config/types.js';
import { describe } from '../discovery/endpoint.js';
import { MeshConfigError, MeshError, isMeshError, type ConfigIssue } from '../errors/mesh-error.js';
import { EventBus } from '../telemetry/event-bus.js';
import { checkTelemetry } from '../telemetry/options.js';
import { Telemetry, type TelemetrySnapshot } from '../telemetry/telemetry.js';
import type { MeshEvents, Observer } from '../telemetry/events.js';
import { systemClock, type Clock } from '../util/clock.js';
import { debugChannel, debugLogger, type Logger } from '../util/logger.js';
import { EndpointState } from './endpoint-state.js';
import { MeshDispatcher } from './mesh-dispatcher.js';
import { MeshRequest, type RequestRoute } from './mesh-request.js';
import { ServiceRuntime, createBalancer, sameBalancer } from './service-runtime.js';

const trace = debugChannel('client');
const CLIENT_KEYS = ['observers', 'logger', 'random', 'clock', 'telemetry'] as const;
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
  /** What happens to hosts that are not services. */
  egress: 'allow' | 'deny';
  /** How many times an observer, event listener or logger threw. */
  observerErrors: number;
  /** What telemetry does right now. */
  telemetry: TelemetrySnapshot;
  /** Each configured service, by name. */
  services: Record<
    string,
    {
      /** The balancing policy and its options. */
      loadBalancer: { policy: string } & Record<string, unknown>;
      /** Pool settings per endpoint. */
      connection: Record<string, number>;
      /** Endpoints the balancer may pick. */
      usableEndpoints: number;
      /** Attempts in flight over all endpoints. */
      inflight: number;
      /** Set by the retry budget when one is configured: retries it still allows. */
      retryBudget?: {
        /** Retries the budget still allows. */
        remaining: number;
      } | null;
      /** Each endpoint: url, weight, zone, priority, labels, inflight, attempts, failures, connected (and health as it lands). */
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
  readonly #telemetry: Telemetry;
  readonly #clock: Clock;
  readonly #random: () => number;
  #state: State;
  /** Endpoint runtime state by service, then URL: what survives config updates. */
  readonly #endpoints = new Map<string, Map<string, EndpointState>>();
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
    const telemetry = checkTelemetry(raw.telemetry, issues);
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
    this.#telemetry = new Telemetry(telemetry, () => this.snapshot());
    this.#bus.setSink(this.#telemetry);
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
    const closing: Promise<unknown>[] = [];
    for (const byUrl of this.#endpoints.values()) for (const e of byUrl.values()) closing.push(e.close());
    if (this.#egressAgent) closing.push(this.#egressAgent.close());
    this.#telemetry.close();
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
    const time = this.#clock.wallNow();
    const events: { type: 'endpoint-added' | 'endpoint-removed'; service: string; endpoint: string }[] = [];

    for (const [name, svc] of config.services) {
      let byUrl = this.#endpoints.get(name);
      if (!byUrl) this.#endpoints.set(name, (byUrl = new Map()));
      const states: EndpointState[] = [];
      const keep = new Set<string>();
      for (const endpoint of svc.endpoints) {
        keep.add(endpoint.url);
        let state = byUrl.get(endpoint.url);
        if (state) {
          const oldPool = state.reconfigure(endpoint, svc.connection);
          if (oldPool) draining.push(oldPool.close());
        } else {
          state = new EndpointState(endpoint, svc.connection);
          byUrl.set(endpoint.url, state);
          events.push({ type: 'endpoint-added', service: name, endpoint: endpoint.url });
        }
        states.push(state);
      }
      for (const [url, state] of byUrl) {
        if (keep.has(url)) continue;
        byUrl.delete(url);
        draining.push(state.close());
        events.push({ type: 'endpoint-removed', service: name, endpoint: url });
      }
      const old = previous.services.get(name);
      const balancer =
        old && sameBalancer(old.config.loadBalancer, svc.loadBalancer)
          ? old.balancer
          : createBalancer(svc.loadBalancer, { service: name, random: this.#random, now: this.#clock.now });
      services.set(name, new ServiceRuntime(svc, states, balancer));
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
    void Promise.allSettled(draining);
    for (const e of events) this.#bus.health({ ...e, time });
    this.#bus.config({ type: 'applied', service: '*', time, version });
  }
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
