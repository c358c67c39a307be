import { EventEmitter } from 'eventemitter3';
import { request as undiciRequest, type Dispatcher } from 'undici';
import type { ConfigSource } from '../config/source.js';
import type { MeshClientOptions, MeshConfig } from '../config/types.js';
import { describe } from '../util/describe.js';
import { buildHealthReport, type MeshHealth } from '../health/report.js';
import { MeshConfigError, MeshError } from '../errors/mesh-error.js';
import { tcpConnectProbe } from '../resilience/connect-probe.js';
import type { TlsMaterialUpdate } from '../security/types.js';
import { EventBus } from '../telemetry/event-bus.js';
import { Telemetry } from '../telemetry/telemetry.js';
import type { MeshEvents } from '../telemetry/events.js';
import { assignOver } from '../util/assign-over.js';
import type { Clock } from '../util/clock.js';
import { debugChannel } from '../util/logger.js';
import { BorrowedDispatcher } from './borrowed-dispatcher.js';
import { checkClientOptions } from './client-options.js';
import { ConfigUpdates } from './config-updates.js';
import { createMeshFetch, type MeshFetch } from './fetch.js';
import { BridgedDispatcher } from './legacy-bridge.js';
import { MeshDispatcher } from './mesh-dispatcher.js';
import { OriginRouter } from './origin-router.js';
import { MeshReconciler } from './reconciler.js';
import { createRequest } from './request/legacy-request.js';
import type { RequestEnvironment } from './request/mesh-request.js';
import { directRequestOptions, type MeshRequestOptions } from './request-options.js';
import { abortLive, drainLive, DEFAULT_CLOSE_TIMEOUT_MS, type CloseOptions } from './shutdown.js';
import { buildSnapshot, type MeshSnapshot } from './snapshot.js';

export type { MeshSnapshot, ServiceSnapshot } from './snapshot.js';
export { DEFAULT_CLOSE_TIMEOUT_MS, type CloseOptions } from './shutdown.js';
export type { MeshRequestOptions, RequestPolicyOverrides } from './request-options.js';

const trace = debugChannel('client');
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
  readonly #env: RequestEnvironment;
  /** The control side: the state in force, endpoints, discovery, health checkers, security. */
  readonly #control: MeshReconciler;
  readonly #router: OriginRouter;
  /** The config update path: validated documents applied to the control side, the watched sources. */
  readonly #config: ConfigUpdates;
  #closing: Promise<void> | undefined;

  /**
   * Validates `options` and builds the mesh. No connection is opened until
   * the first request. Throws {@link MeshConfigError} listing every problem.
   */
  constructor(options: MeshClientOptions = {}) {
    super();
    const checked = checkClientOptions(options);
    const { clock, random, transport: userTransport } = checked;
    this.#clock = clock;
    const transport = userTransport && ((origin: string) => new BridgedDispatcher(userTransport(origin)));
    const bus = (this.#bus = new EventBus(this, checked.observers, checked.logger));
    this.#telemetry = new Telemetry(checked.telemetry, () => this.snapshot());
    bus.setSink(this.#telemetry);
    this.#env = { bus, clock, random, tracing: this.#telemetry.tracing, live: new Set() };
    this.#router = new OriginRouter(transport);
    this.dispatcher = new MeshDispatcher({
      dispatch: (opts, handler) => this.#dispatch(opts, handler),
      close: () => this.close(),
      destroy: (error) => this.destroy(error),
    });
    this.fetch = createMeshFetch({ dispatcher: this.dispatcher, closedError: () => (this.closed ? closedError() : undefined) });
    this.#control = new MeshReconciler(
      {
        bus,
        clock,
        random,
        logger: checked.logger,
        transport,
        // A user's transport dials the endpoints itself: a TCP connect would say nothing about it.
        resilience: { bus, clock, random, connectProbe: userTransport ? undefined : tcpConnectProbe },
        closed: () => this.closed,
      },
      checked.config,
    );
    this.#control.apply(checked.config);
    this.#config = new ConfigUpdates({ bus, clock, random, control: this.#control, closed: () => this.closed });
  }

  /** True once {@link MeshClient.close} or {@link MeshClient.destroy} was called: new requests fail with `MESH_CLOSED`. */
  get closed(): boolean {
    return this.#closing !== undefined;
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
      const direct = directRequestOptions(url, options, this.dispatcher);
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
    this.#config.update(config, undefined);
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
    return this.#config.watch(source);
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
    const tls = this.#control.security.tls(service);
    if (!tls) {
      throw new MeshConfigError([{ path: `services.${service}.tls`, message: `service "${service}" has no tls settings to update` }]);
    }
    await tls.update(material);
  }

  /** The whole picture as plain JSON: config version, services, endpoints and their counters. */
  snapshot(): MeshSnapshot {
    return buildSnapshot(this.#control, {
      time: this.#clock.wallNow(),
      closed: this.closed,
      observerErrors: this.#bus.observerErrors,
      telemetry: this.#telemetry.describe(),
    });
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
    return this.#control.ready(options.timeoutMs ?? 5_000);
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
    const control = this.#control;
    return buildHealthReport(control.state.services, (name) => control.registry.status(name), control.checkers);
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
    this.#closing = drainLive(this.#env.live, this.#clock, timeoutMs).then((drained) => this.#release(drained));
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
    abortLive(this.#env.live, error ?? undefined);
    if (this.#closing) return this.#closing;
    this.#stopControl();
    this.#closing = this.#release(false);
    return this.#closing;
  }

  /** Stops everything that is not a request: watches, timers, telemetry, discovery, health checks. */
  #stopControl(): void {
    this.#config.stopAll();
    this.#telemetry.close();
    this.#control.stop();
  }

  /** Frees pools (closed when drained, destroyed otherwise), discovery and health checkers. */
  #release(drained: boolean): Promise<void> {
    const closing: Promise<unknown>[] = [];
    this.#control.closeEndpoints(drained, closing);
    this.#router.closeEgress(drained, closing);
    this.#control.closeWatchers(closing);
    return Promise.all(closing).then(() => {
      trace('closed');
    });
  }

  // ---- request path ----

  #dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const route = this.closed
      ? { kind: 'refused' as const, error: closedError(), host: '' }
      : this.#router.route(this.#control.state, opts.origin);
    createRequest(this.#env, route, opts, handler).start();
    return true;
  }
}

function closedError(): MeshError {
  return new MeshError('MESH_CLOSED', 'the mesh is closed');
}
