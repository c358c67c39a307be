import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { MeshError } from '../../errors/mesh-error.js';
import type { AttemptTarget, AttemptTrace, RequestTrace } from '../../telemetry/otel-tracing.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { EndpointState } from '../endpoint-state.js';

type Controller = Dispatcher.DispatchController;

/**
 * Where an attempt is in its life: waiting for its response (`pending`),
 * the one whose response the caller gets (`committed`), a retried response
 * whose body is read and dropped (`draining`), given up (`discarded`), or
 * over (`done`).
 */
export type AttemptState = 'pending' | 'committed' | 'draining' | 'discarded' | 'done';

/** What an attempt reports to: its request (`MeshRequest`), which runs the state machine. */
export interface AttemptOwner {
  attemptStarted(attempt: Attempt, controller: Controller): void;
  attemptUpgrade(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void;
  attemptHeaders(attempt: Attempt, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void;
  attemptData(chunk: Buffer): void;
  attemptEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void;
  attemptError(attempt: Attempt, error: Error): void;
}

/**
 * One try of a request against one endpoint: a v2 dispatch handler that
 * reports to its {@link AttemptOwner} (the request). A class with prototype methods, never a
 * spread object (undici checks for the methods).
 */
export class Attempt implements Dispatcher.DispatchHandler {
  controller: Controller | undefined;
  state: AttemptState = 'pending';
  released = false;
  /** The per-try timer, while one runs. */
  timer: TimerHandle | undefined;
  /** Set when the per-try deadline expired: the error the attempt failed with. */
  timedOut: MeshError | undefined;
  /**
   * When the attempt got a connection and began to be written (undici calls
   * `onRequestStart` then, not at dispatch: before that it waits in the
   * pool's queue); -1 while queued. Per-try time runs from here.
   */
  sentAt = -1;
  /** The attempt's CLIENT span, when tracing records. */
  trace: AttemptTrace | undefined = undefined;

  constructor(
    readonly request: AttemptOwner,
    readonly endpoint: EndpointState | undefined,
    readonly index: number,
    readonly startedAt: number,
  ) {}

  /** Stops the per-try timer, if one runs. */
  clearTimer(clock: Clock): void {
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The attempt no longer occupies its endpoint (counted once, however the attempt ends). */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.endpoint) this.endpoint.inflight--;
  }

  /** Sends this attempt through `dispatcher` under its CLIENT span (a child of `trace`), the trace context set in its headers. */
  sendTraced(trace: RequestTrace, dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, to: AttemptTarget): void {
    const attemptTrace = trace.attempt(this.index, to, opts.method, opts.path, opts.headers);
    this.trace = attemptTrace;
    opts.headers = attemptTrace.headers;
    attemptTrace.dispatch(dispatcher, opts, this);
  }

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
