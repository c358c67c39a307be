import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { errors, type Dispatcher } from 'undici';
import { MeshRequest } from './mesh-request.js';
import type { RequestEnvironment, RequestRoute } from './route.js';

/*
 * undici 7's legacy handler API, which its own `request`, `stream` and
 * `fetch` still hand to dispatchers. A request whose caller's handler
 * speaks only that API is a LegacyRequest: it calls the handler directly
 * with the raw header list undici's controller already holds, rather than
 * through DecoratorHandler's WrapHandler, which would turn the parsed
 * headers back into Buffers for the handler to parse again.
 *
 * The choice between the two kinds of request lives here too
 * (`createRequest`, which the dispatcher calls). undici 8's handlers speak
 * v2 only, so moving there is: delete this file, and in
 * src/client/mesh-client.ts change the one line
 *   import { createRequest } from './request/legacy-request.js';
 * to
 *   import { createRequest } from './request/mesh-request.js';
 * Nothing else refers to it.
 */

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;

/** The legacy handler methods, called directly (never spread). */
interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onUpgrade?(statusCode: number, rawHeaders: Buffer[], socket: Duplex): void;
  onHeaders?(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText?: string): boolean | void;
  onData?(chunk: Buffer): boolean | void;
  onComplete?(trailers: Buffer[]): void;
  onError?(error: Error): void;
}

/** The raw header list undici's controllers keep beside the parsed object (`rawHeaders`, `rawTrailers`). */
type RawHolder = { rawHeaders?: unknown; rawTrailers?: unknown };

/**
 * What `DecoratorHandler` holds for a LegacyRequest, which never calls its
 * `super` methods: so undici need not allocate a WrapHandler per request.
 */
const NEVER_CALLED: Handler = Object.freeze({
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
});

/** True for a handler that speaks only the legacy API (no `onRequestStart`). */
function isLegacy(handler: Handler): boolean {
  return typeof handler.onRequestStart !== 'function' && typeof (handler as LegacyHandler).onHeaders === 'function';
}

/** Parsed headers back to a raw `[name, value, ...]` Buffer list (what undici's WrapHandler does). */
function toRaw(headers: IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) raw.push(Buffer.from(name, 'latin1'), Buffer.from(item, 'latin1'));
    else raw.push(Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1'));
  }
  return raw;
}

/** The raw header list a controller holds (undici's own controllers and the transport bridge keep one), if any. */
function rawOf(controller: Controller | undefined, key: 'rawHeaders' | 'rawTrailers'): Buffer[] | undefined {
  const raw = (controller as RawHolder | undefined)?.[key];
  return Array.isArray(raw) ? (raw as Buffer[]) : undefined;
}

/** A {@link MeshRequest} whose caller's handler is one of undici 7's legacy handlers. */
export class LegacyRequest extends MeshRequest {
  readonly #handler: LegacyHandler;

  constructor(env: RequestEnvironment, route: RequestRoute, opts: Dispatcher.DispatchOptions, handler: Handler) {
    super(env, route, opts, NEVER_CALLED);
    this.#handler = handler as LegacyHandler;
  }

  protected override forwardStart(): void {
    this.#handler.onConnect?.((reason) => this.abort(reason as Error), {});
  }

  protected override forwardUpgrade(statusCode: number, headers: IncomingHttpHeaders, socket: Duplex, from: Controller | undefined): void {
    this.#handler.onUpgrade?.(statusCode, rawOf(from, 'rawHeaders') ?? toRaw(headers), socket);
  }

  protected override forwardHeaders(statusCode: number, headers: IncomingHttpHeaders, from: Controller | undefined, statusMessage?: string): void {
    const raw = rawOf(from, 'rawHeaders') ?? toRaw(headers);
    // Made in a local, never written straight into a property: see "Closures on the request path" in admission.ts.
    const resume = () => this.resume();
    if (this.#handler.onHeaders?.(statusCode, raw, resume, statusMessage) === false) this.pause();
  }

  protected override forwardData(chunk: Buffer): void {
    if (this.#handler.onData?.(chunk) === false) this.pause();
  }

  protected override forwardEnd(trailers: IncomingHttpHeaders, from: Controller | undefined): void {
    this.#handler.onComplete?.(rawOf(from, 'rawTrailers') ?? toRaw(trailers));
  }

  protected override forwardError(error: Error): void {
    const handler = this.#handler;
    if (typeof handler.onError === 'function') handler.onError(error);
    else throw new errors.InvalidArgumentError('invalid onError method');
  }
}

/**
 * The request for one dispatch: a {@link LegacyRequest} when the caller's
 * handler speaks only undici 7's legacy API, else a {@link MeshRequest}.
 * Its v2-only twin is mesh-request.ts's `createRequest`.
 */
export function createRequest(env: RequestEnvironment, route: RequestRoute, opts: Dispatcher.DispatchOptions, handler: Handler): MeshRequest {
  return isLegacy(handler) ? new LegacyRequest(env, route, opts, handler) : new MeshRequest(env, route, opts, handler);
}
