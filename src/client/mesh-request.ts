import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { DecoratorHandler, type Dispatcher } from 'undici';
import type { PickRequest } from '../balancing/balancer.js';
import { MeshError, isMeshError } from '../errors/mesh-error.js';
import type { Credentials } from '../security/auth.js';
import { checkHeaders, checkPath, prepareHeaders } from '../security/headers.js';
import type { EventBus } from '../telemetry/event-bus.js';
import type { AttemptTarget, AttemptTrace, RequestTrace, Tracing } from '../telemetry/otel-tracing.js';
import { targetOf } from '../telemetry/semconv.js';
import type { Clock } from '../util/clock.js';
import type { EndpointState } from './endpoint-state.js';
import { getHeader } from './headers.js';
import type { Destination, ServiceRuntime } from './service-runtime.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type V2Handler = Required<
  Pick<Handler, 'onRequestStart' | 'onRequestUpgrade' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>
>;

// undici's typings declare DecoratorHandler without its methods; they exist at runtime.
const Decorator = DecoratorHandler as unknown as new (handler: Handler) => V2Handler;

/** What a request needs from the client that owns it. */
export interface RequestEnvironment {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly tracing: Tracing;
}

/** Where a request goes: a configured service, or straight to its origin (egress). */
export type RequestRoute =
  | {
      readonly kind: 'service';
      readonly service: ServiceRuntime;
      readonly authority: string;
      /** Only TLS endpoints may serve it (an `https://` URL, or `requireTls`). */
      readonly secure: boolean;
    }
  | { readonly kind: 'egress'; readonly dispatcher: Dispatcher; readonly origin: string; readonly host: string }
  | { readonly kind: 'refused'; readonly error: MeshError; readonly host: string };

/**
 * One logical request through the mesh: the stable controller handed to the
 * caller's handler, and the driver of its attempts. It forwards response
 * events to the caller only for the attempt it commits to; the first
 * response headers handed over commit the request for good.
 */
export class MeshRequest extends Decorator implements Controller, PickRequest {
  readonly #env: RequestEnvironment;
  readonly #route: RequestRoute;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #startedAt: number;
  #headers: string[] | undefined;
  #destination: Destination | undefined;
  #attempts = 0;
  #tried: Set<EndpointState> | undefined;
  #current: Attempt | undefined;
  #committed = false;
  #done = false;
  #aborted = false;
  #reason: Error | null = null;
  #paused = false;
  #status: number | undefined;
  #trace: RequestTrace | undefined;

  constructor(env: RequestEnvironment, route: RequestRoute, opts: Dispatcher.DispatchOptions, handler: Handler) {
    super(handler);
    this.#env = env;
    this.#route = route;
    this.#opts = opts;
    this.#startedAt = env.clock.now();
  }

  // ---- PickRequest (what balancers may read) ----

  get method(): string {
    return this.#opts.method;
  }
  get path(): string {
    return this.#opts.path;
  }
  header(name: string): string | undefined {
    return getHeader(this.#opts.headers, name);
  }

  // ---- DispatchController (what the caller's handler holds) ----

  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#aborted || this.#done) return;
    this.#aborted = true;
    this.#reason = reason;
    const attempt = this.#current;
    if (this.#committed && attempt?.controller) {
      // The body is streaming: abort the attempt; its error event finishes us.
      attempt.controller.abort(reason);
      return;
    }
    if (attempt) this.#discard(attempt, reason);
    this.#fail(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#current?.controller?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#current?.controller?.resume();
  }

  // ---- driving ----

  /** Hands the caller its controller, then sends the first attempt. */
  start(): void {
    super.onRequestStart(this, {});
    if (this.#done || this.#aborted) return;
    const route = this.#route;
    this.#trace = this.#env.tracing.start(this.#opts.method, this.#serviceName(), route.kind === 'egress');
    if (route.kind === 'refused') {
      this.#fail(route.error);
      return;
    }
    // Header hygiene: the path cannot leave the service or origin, headers are
    // valid (no CR/LF/NUL), and the Host is the service's (src/security/headers.ts).
    const invalid = checkPath(this.#opts.path, this.#serviceName());
    if (invalid) {
      this.#fail(invalid);
      return;
    }
    if (route.kind === 'service') {
      const auth = route.service.security?.auth;
      const credentials = auth?.current();
      if (auth !== undefined && credentials === undefined) {
        // Nothing valid cached: wait for the credential hook, then go on.
        auth.load().then(
          (c) => this.#startService(route, c),
          (error: unknown) => this.#fail(error instanceof Error ? error : new Error(String(error))),
        );
        return;
      }
      this.#startService(route, credentials);
      return;
    }
    const bad = checkHeaders(this.#opts.headers, route.host);
    if (bad) {
      this.#fail(bad);
      return;
    }
    this.#send();
  }

  #startService(route: Extract<RequestRoute, { kind: 'service' }>, credentials: Credentials | undefined): void {
    if (this.#done || this.#aborted) return;
    const headers = prepareHeaders(this.#opts.headers, route.authority, route.service.name, credentials);
    if (headers instanceof MeshError) {
      this.#fail(headers);
      return;
    }
    this.#headers = headers;
    this.#destination = route.service.destination(this);
    this.#trace?.route(this.#destination?.route, this.#destination?.name);
    this.#send();
  }

  #send(): void {
    const route = this.#route;
    if (route.kind === 'refused') return;
    const index = this.#attempts++;
    if (route.kind === 'egress') {
      const attempt = new Attempt(this, undefined, index, this.#env.clock.now());
      this.#current = attempt;
      if (this.#trace === undefined) route.dispatcher.dispatch(this.#opts, attempt);
      else this.#sendTraced(this.#trace, attempt, route.dispatcher, { ...this.#opts }, { target: targetOf(route.origin) });
      return;
    }
    const service = route.service;
    const destination = this.#destination;
    const endpoint = destination?.picker.pick({ request: this, tried: this.#tried });
    if (endpoint === undefined) {
      this.#attempts = index; // nothing was sent
      const what = destination ? `"${destination.name}"` : `the route's destination`;
      this.#fail(
        new MeshError('MESH_NO_HEALTHY_ENDPOINT', `${what} of service "${service.name}" has no endpoint that can be picked`, {
          service: service.name,
          attempts: index,
        }),
      );
      return;
    }
    if (route.secure && endpoint.protocol !== 'https:') {
      this.#fail(
        new MeshError('MESH_TLS_REQUIRED', `service "${service.name}" requires TLS but endpoint ${endpoint.url} is plaintext`, {
          service: service.name,
          endpoint: endpoint.url,
          attempts: index,
        }),
      );
      return;
    }
    if (index > 0) (this.#tried ??= new Set()).add(endpoint);
    endpoint.inflight++;
    endpoint.attempts++;
    const attempt = new Attempt(this, endpoint, index, this.#env.clock.now());
    this.#current = attempt;
    const opts = { ...this.#opts, origin: endpoint.url, headers: this.#headers };
    if (this.#trace === undefined) endpoint.pool().dispatch(opts, attempt);
    else {
      const policy = service.config.loadBalancer.policy;
      const candidates = destination!.picker.endpoints.length;
      const to = { target: targetOf(endpoint.url), endpoint: endpoint.url, policy, candidates };
      this.#sendTraced(this.#trace, attempt, endpoint.pool(), opts, to);
    }
  }

  /** Sends an attempt under its CLIENT span, the trace context set in its headers. */
  #sendTraced(
    trace: RequestTrace,
    attempt: Attempt,
    dispatcher: Dispatcher,
    opts: Dispatcher.DispatchOptions,
    to: AttemptTarget,
  ): void {
    const t = trace.attempt(attempt.index, to, opts.method, opts.path, opts.headers);
    attempt.trace = t;
    opts.headers = t.headers;
    t.dispatch(dispatcher, opts, attempt);
  }

  // ---- attempt callbacks (called by Attempt only) ----

  /** @internal */
  attemptStarted(attempt: Attempt, controller: Controller): void {
    if (attempt.state === 'discarded') {
      controller.abort(this.#reason ?? new Error('attempt discarded'));
      return;
    }
    if (this.#paused) controller.pause();
  }

  /** @internal */
  attemptUpgrade(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    if (attempt.state !== 'pending') return;
    this.#settle(attempt, statusCode, undefined);
    this.#committed = true;
    attempt.state = 'committed';
    this.#status = statusCode;
    this.#done = true;
    super.onRequestUpgrade(this, statusCode, headers, socket);
    this.#report(undefined);
  }

  /** @internal */
  attemptHeaders(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (attempt.state !== 'pending') return;
    this.#settle(attempt, statusCode, undefined);
    this.#committed = true;
    attempt.state = 'committed';
    this.#status = statusCode;
    super.onResponseStart(this, statusCode, headers, statusMessage);
  }

  /** @internal */
  attemptData(chunk: Buffer): void {
    super.onResponseData(this, chunk);
  }

  /** @internal */
  attemptEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    this.#release(attempt);
    if (attempt.state !== 'committed' || this.#done) return;
    attempt.state = 'done';
    this.#done = true;
    super.onResponseEnd(this, trailers);
    this.#report(undefined);
  }

  /** @internal */
  attemptError(attempt: Attempt, error: Error): void {
    this.#release(attempt);
    if (attempt.state === 'discarded' || attempt.state === 'done') return;
    if (attempt.state === 'pending') this.#settle(attempt, undefined, error);
    const committed = attempt.state === 'committed';
    attempt.state = 'done';
    if (this.#aborted) {
      this.#fail(this.#reason ?? error);
      return;
    }
    this.#fail(this.#upstreamError(error, attempt, committed));
  }

  // ---- internals ----

  /** Accounts for the end of an attempt's waiting phase (headers or failure). */
  #settle(attempt: Attempt, status: number | undefined, error: Error | undefined): void {
    attempt.trace?.end(status, error, false);
    const durationMs = this.#env.clock.now() - attempt.startedAt;
    const endpoint = attempt.endpoint;
    const ok = error === undefined && (status === undefined || status < 500);
    if (endpoint) {
      if (!ok) endpoint.failures++;
      this.#destination?.picker.report(endpoint, { durationMs, ok });
    }
    const bus = this.#env.bus;
    if (bus.wantsMetrics) {
      bus.metric({
        type: 'attempt',
        service: this.#serviceName(),
        time: this.#env.clock.wallNow(),
        endpoint: endpoint?.url ?? this.#originOf(),
        method: this.#opts.method,
        ...(status === undefined ? {} : { status }),
        ...(error === undefined ? {} : { error: errorCode(error) }),
        durationMs,
        attempt: attempt.index,
      });
    }
  }

  /** The attempt no longer occupies its endpoint. */
  #release(attempt: Attempt): void {
    if (attempt.released) return;
    attempt.released = true;
    if (attempt.endpoint) attempt.endpoint.inflight--;
  }

  #discard(attempt: Attempt, reason: Error): void {
    if (attempt.state === 'discarded' || attempt.state === 'done') return;
    attempt.state = 'discarded';
    attempt.trace?.end(undefined, reason, true);
    this.#release(attempt);
    attempt.controller?.abort(reason);
  }

  #fail(error: Error): void {
    if (this.#done) return;
    this.#done = true;
    super.onResponseError(this, error);
    this.#report(error);
  }

  #upstreamError(error: Error, attempt: Attempt, committed: boolean): MeshError {
    const service = this.#serviceName();
    const where = attempt.endpoint?.url ?? this.#originOf();
    const phase = committed ? 'while streaming the response body' : 'before a response arrived';
    if (isMeshError(error, 'MESH_PEER_IDENTITY')) {
      return new MeshError('MESH_PEER_IDENTITY', error.message, { cause: error, service, endpoint: where, attempts: this.#attempts });
    }
    const code = (error as { code?: unknown }).code;
    if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') {
      return new MeshError('MESH_INVALID_REQUEST', `request to ${service} refused by undici: ${error.message}`, {
        cause: error,
        service,
        attempts: this.#attempts,
      });
    }
    return new MeshError('MESH_UPSTREAM_FAILURE', `request to ${service} (${where}) failed ${phase}: ${error.message}`, {
      cause: error,
      service,
      endpoint: where,
      attempts: this.#attempts,
    });
  }

  #report(error: Error | undefined): void {
    this.#trace?.end(this.#status, error, this.#attempts, this.#aborted);
    const bus = this.#env.bus;
    if (!bus.wantsMetrics) return;
    const endpoint = this.#current?.endpoint?.url ?? (this.#route.kind === 'egress' ? this.#originOf() : undefined);
    bus.metric({
      type: 'request',
      service: this.#serviceName(),
      time: this.#env.clock.wallNow(),
      method: this.#opts.method,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(this.#status === undefined ? {} : { status: this.#status }),
      ...(error === undefined ? {} : { error: errorCode(error) }),
      durationMs: this.#env.clock.now() - this.#startedAt,
      attempts: this.#attempts,
      ...(this.#route.kind === 'egress' ? { egress: true } : {}),
    });
  }

  #serviceName(): string {
    const route = this.#route;
    return route.kind === 'service' ? route.service.name : route.host;
  }

  #originOf(): string {
    return this.#route.kind === 'egress' ? this.#route.origin : '';
  }
}

/** A short, stable name for an error in events: its `code`, else its `name`. */
export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'Error';
}

/**
 * One try of a request against one endpoint: a v2 dispatch handler that
 * reports to its {@link MeshRequest}. A class with prototype methods, never a
 * spread object (undici checks for the methods).
 */
class Attempt implements Handler {
  controller: Controller | undefined;
  state: 'pending' | 'committed' | 'discarded' | 'done' = 'pending';
  released = false;
  trace: AttemptTrace | undefined = undefined;

  constructor(
    readonly request: MeshRequest,
    readonly endpoint: EndpointState | undefined,
    readonly index: number,
    readonly startedAt: number,
  ) {}

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    this.request.attemptStarted(this, controller);
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.request.attemptUpgrade(this, statusCode, headers, socket);
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.request.attemptHeaders(this, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.state === 'committed') this.request.attemptData(chunk);
  }

  onResponseEnd(_controller: Controller, trailers: IncomingHttpHeaders): void {
    this.request.attemptEnd(this, trailers);
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.request.attemptError(this, error);
  }
}
