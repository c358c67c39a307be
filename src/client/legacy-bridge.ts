import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { util, type Dispatcher } from 'undici';
import { UnownedDispatcher } from './unowned-dispatcher.js';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

/** A controller over a legacy handler's `abort` and `resume` callbacks. */
class BridgeController implements Controller {
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;
  resumeFn: (() => void) | undefined;
  /** The response's raw headers and trailers, as undici's own controllers keep them (the mesh hands them to legacy handlers as they are). */
  rawHeaders: Buffer[] | string[] | null = null;
  rawTrailers: Buffer[] | string[] | null = null;

  constructor(readonly abortFn: (reason?: Error) => void) {}

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
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.abortFn(reason);
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.resumeFn?.();
  }
}

const noop = (): void => {};

function headersOf(raw: Buffer[] | string[] | null): IncomingHttpHeaders {
  return raw ? (util.parseHeaders(raw) as IncomingHttpHeaders) : {};
}

/**
 * Presents a v2 handler to a dispatcher that only speaks undici's legacy
 * handler API (`onConnect`, `onHeaders`, `onData`, `onComplete`, `onError`).
 * undici 7's MockAgent is such a dispatcher; undici 8's mocks speak v2, so
 * this bridge is only used on the `transport` boundary and goes away with
 * undici 8.
 */
class LegacyBridge {
  readonly #handler: Handler;
  /** Set by `onConnect`, which undici calls first; made on demand otherwise (not allocated twice per request). */
  #ctl: BridgeController | undefined;

  get #controller(): BridgeController {
    return (this.#ctl ??= new BridgeController(noop));
  }

  constructor(handler: Handler) {
    this.#handler = handler;
  }

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#ctl = new BridgeController(abort);
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    this.#controller.rawHeaders = rawHeaders;
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headersOf(rawHeaders), socket);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    this.#controller.resumeFn = resume;
    this.#controller.rawHeaders = rawHeaders;
    this.#handler.onResponseStart?.(this.#controller, statusCode, headersOf(rawHeaders), statusText);
    return !this.#controller.paused;
  }

  onData(chunk: Buffer): boolean {
    this.#handler.onResponseData?.(this.#controller, chunk);
    return !this.#controller.paused;
  }

  onComplete(trailers: string[] | null): void {
    this.#controller.rawTrailers = trailers;
    this.#handler.onResponseEnd?.(this.#controller, headersOf(trailers));
  }

  onError(error: Error): void {
    this.#handler.onResponseError?.(this.#controller, error);
  }
}

/**
 * Wraps a user-supplied transport dispatcher so the pipeline's v2 handlers
 * work over it, and so a synchronous throw from its `dispatch` (MockAgent's
 * "no interceptor matched") becomes the attempt's error instead of escaping.
 * Closing it does nothing: the mesh does not own user transports.
 */
export class BridgedDispatcher extends UnownedDispatcher {
  readonly #inner: Dispatcher;

  constructor(inner: Dispatcher) {
    super();
    this.#inner = inner;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const bridge = new LegacyBridge(handler);
    try {
      return this.#inner.dispatch(opts, bridge as unknown as Handler);
    } catch (error) {
      queueMicrotask(() => bridge.onError(error as Error));
      return true;
    }
  }
}

