import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { DecoratorHandler, type Dispatcher } from 'undici';
import type { PickRequest } from '../../balancing/balancer.js';
import type { MeshError } from '../../errors/mesh-error.js';
import type { RequestTrace } from '../../telemetry/otel-tracing.js';
import { getHeader } from '../../util/headers.js';
import type { Attempt } from './attempt.js';
import * as errors from './errors.js';
import * as events from './events.js';
import type { RequestEnvironment, RequestRoute } from './route.js';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;
type V2Handler = Required<
  Pick<Handler, 'onRequestStart' | 'onRequestUpgrade' | 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>
>;

// undici's typings declare DecoratorHandler without its methods; they exist at runtime.
const Decorator = DecoratorHandler as unknown as new (handler: Handler) => V2Handler;

/** Ids of logical requests in metric events, increasing per process. */
let nextRequestId = 1;

/**
 * What the caller of one logical request sees of it: the stable controller
 * handed to the caller's handler (abort, pause, resume), the request as
 * balancers read it ({@link PickRequest}), the `forward*` methods that reach
 * the caller's handler, and the request's end as the caller and observers
 * see it (`fail`, `report`: the error handed over, the span ended, the
 * `request` metric event).
 *
 * The first of three layers of one state machine: admission
 * (admission.ts) and the engine ({@link MeshRequest}, mesh-request.ts)
 * extend it. The `forward*` methods speak undici's v2 handler API (through
 * `DecoratorHandler`); `LegacyRequest` (legacy-request.ts) overrides them
 * for undici 7's legacy handlers.
 */
export abstract class RequestController extends Decorator implements Controller, PickRequest {
  /** This request's id in metric events (see `RequestEventBase.requestId`). */
  protected readonly id = nextRequestId++;
  protected readonly env: RequestEnvironment;
  protected readonly route: RequestRoute;
  protected readonly opts: Dispatcher.DispatchOptions;
  protected readonly startedAt: number;
  /** Attempts sent so far (requeues included). */
  protected attempts = 0;
  /** The newest attempt: the one pause and resume reach, and the one reported at the end. */
  protected current: Attempt | undefined;
  /** The URL of the endpoint the last settled attempt went to. */
  protected lastEndpoint: string | undefined;
  /** Response headers were handed to the caller: never retried or hedged after that. */
  protected committed = false;
  /** The request is over (the caller was given its end or its error). */
  protected done = false;
  /** The caller aborted (through the controller): outcome `cancelled`, not a failure. */
  protected cancelled = false;
  /** The status of the response handed to the caller. */
  protected status: number | undefined;
  /** The request's span, when tracing records. */
  protected trace: RequestTrace | undefined;
  #aborted = false;
  #reason: Error | null = null;
  #paused = false;

  constructor(env: RequestEnvironment, route: RequestRoute, opts: Dispatcher.DispatchOptions, handler: Handler) {
    super(handler);
    this.env = env;
    this.route = route;
    this.opts = opts;
    this.startedAt = env.clock.now();
  }

  // ---- PickRequest (what balancers may read) ----

  get method(): string {
    return this.opts.method;
  }
  get path(): string {
    return this.opts.path;
  }
  header(name: string): string | undefined {
    return getHeader(this.opts.headers, name);
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

  /**
   * The caller gives up (an `AbortSignal`, a destroyed or cancelled body,
   * `controller.abort()`): outcome `cancelled`, which feeds no breaker,
   * detector, balancer failure or budget.
   */
  abort(reason: Error): void {
    if (this.#aborted || this.done) return;
    this.cancelled = true;
    this.interrupt(reason);
  }

  /**
   * Ends the request on the mesh's side (`MeshClient.close` past its drain
   * time, `MeshClient.destroy`): like a caller's abort, except that the
   * caller sees `error` (`MESH_CLOSED`). Feeds no breaker or detector.
   * @internal
   */
  shutdown(error: MeshError): void {
    this.interrupt(error);
  }

  pause(): void {
    this.#paused = true;
    this.current?.controller?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.current?.controller?.resume();
  }

  /** Ends the request early with `reason` (a caller's abort, a shutdown, the total deadline), once. */
  protected interrupt(reason: Error): void {
    if (this.#aborted || this.done) return;
    this.#aborted = true;
    this.#reason = reason;
    this.interrupted(reason);
  }

  /** The engine's part of an interrupt: stop the timers and attempts, fail the request (unless its body streams). */
  protected abstract interrupted(reason: Error): void;

  /** Gives back what the request holds (timers, bulkhead slot, breaker probe). */
  protected abstract finish(): void;

  // ---- the caller's handler (overridden by LegacyRequest) ----

  /** Hands the caller's handler its controller. @internal */
  protected forwardStart(): void {
    super.onRequestStart(this, {});
  }

  /** @internal */
  protected forwardUpgrade(statusCode: number, headers: IncomingHttpHeaders, socket: Duplex, _from: Controller | undefined): void {
    super.onRequestUpgrade(this, statusCode, headers, socket);
  }

  /** The committed response's headers; `from` is the attempt's controller (undefined for a synthetic response). @internal */
  protected forwardHeaders(statusCode: number, headers: IncomingHttpHeaders, _from: Controller | undefined, statusMessage?: string): void {
    super.onResponseStart(this, statusCode, headers, statusMessage);
  }

  /** @internal */
  protected forwardData(chunk: Buffer): void {
    super.onResponseData(this, chunk);
  }

  /** @internal */
  protected forwardEnd(trailers: IncomingHttpHeaders, _from: Controller | undefined): void {
    super.onResponseEnd(this, trailers);
  }

  /** @internal */
  protected forwardError(error: Error): void {
    super.onResponseError(this, error);
  }

  // ---- the end, as the caller and observers see it ----

  /** The request fails with `error`: what it holds is given back, the caller gets the error, observers the outcome. */
  protected fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    this.finish();
    this.forwardError(error);
    this.report(error);
  }

  /** The request is over (`error` undefined when it got a response): its span ends, the `request` metric event. */
  protected report(error: Error | undefined): void {
    this.env.live.delete(this);
    const cancelled = this.cancelled;
    this.trace?.end(this.status, error, this.attempts, cancelled);
    const bus = this.env.bus;
    if (!bus.wantsMetrics) return;
    const egress = this.route.kind === 'egress';
    const endpoint = this.current?.endpoint?.url ?? this.lastEndpoint ?? (egress ? this.originOf() : undefined);
    const clock = this.env.clock;
    const durationMs = clock.now() - this.startedAt;
    bus.metric(
      events.requestEvent(this.id, this.serviceName(), clock.wallNow(), this.opts.method, durationMs, this.attempts, endpoint, this.status, error, cancelled, egress),
    );
  }

  /** An attempt's transport failure as the caller sees it: `MESH_UPSTREAM_ERROR`, naming where it went. */
  protected upstreamError(error: Error, attempt: Attempt, committed: boolean): MeshError {
    const where = attempt.endpoint?.url ?? this.originOf();
    return errors.upstreamError(error, this.serviceName(), where, committed, this.attempts);
  }

  /** The service's name, or the host of an egress or refused request. */
  protected serviceName(): string {
    const route = this.route;
    return route.kind === 'service' ? route.service.name : route.host;
  }

  /** The origin of an egress request, else the empty string. */
  protected originOf(): string {
    return this.route.kind === 'egress' ? this.route.origin : '';
  }
}
