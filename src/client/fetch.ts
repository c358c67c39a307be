import {
  FormData as UndiciFormData,
  Headers as UndiciHeaders,
  Request as UndiciRequest,
  Response as UndiciResponse,
  fetch as undiciFetch,
  type Dispatcher,
  type Request,
  type RequestInit,
  type Response,
} from 'undici';
import { isMeshError, type MeshError } from '../errors/mesh-error.js';
import { assignOver } from '../util/assign-over.js';
import { UnownedDispatcher } from './unowned-dispatcher.js';

/**
 * The type of {@link MeshClient.fetch}: WHATWG `fetch`, assignable to
 * `typeof globalThis.fetch` (with or without the DOM lib), so it can be
 * handed to any library that takes a custom `fetch`. Called with undici's
 * types it answers undici's `Response`; called with the global ones it
 * answers the global `Response` type (at runtime it is the same undici
 * `Response`, which implements that interface).
 */
export interface MeshFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  (input: string | URL | globalThis.Request, init?: globalThis.RequestInit): Promise<globalThis.Response>;
}

/** What {@link createMeshFetch} needs from its client. */
export interface FetchTarget {
  /** The mesh's dispatcher: every request goes through it. */
  readonly dispatcher: Dispatcher;
  /** The error to reject with when the mesh is closed, or undefined while it serves. */
  closedError(): MeshError | undefined;
}

/** A request body whose bytes are known before sending: what the dispatcher gets, so it can be replayed. */
interface KnownBody {
  readonly bytes: Uint8Array;
  /** The `content-type` fetch would set for it, if any. */
  readonly type: string | undefined;
}

/**
 * Builds `mesh.fetch`: undici's `fetch` over the mesh's dispatcher, as a
 * plain function (usable unbound). A `Request` of another undici copy (Node's
 * global `Request` is one) is converted to undici's own; a body whose bytes
 * are known is handed to the dispatcher as bytes, so the mesh may retry it
 * (undici's `fetch` otherwise turns every body into a one-shot stream).
 * @internal
 */
export function createMeshFetch(target: FetchTarget): MeshFetch {
  const meshFetch = async (input: string | URL | Request | globalThis.Request, init?: RequestInit | globalThis.RequestInit) => {
    const closed = target.closedError();
    if (closed) throw closed;
    let url: string | URL | Request = input as string | URL | Request;
    let options = init as RequestInit | undefined;
    if (isRequest(input)) [url, options] = await fromRequest(input, options);
    let dispatcher = target.dispatcher;
    const body = options?.body;
    if (body != null) {
      const known = await knownBody(body);
      if (known !== undefined) {
        options = withKnownBody(url, options!, known);
        dispatcher = new KnownBodyDispatcher(dispatcher, known.bytes);
      }
    }
    try {
      return await undiciFetch(url, assignOver(options, { dispatcher }));
    } catch (error) {
      const cause = (error as { cause?: unknown } | undefined)?.cause;
      if (error instanceof TypeError && isMeshError(cause)) throw cause;
      throw error;
    }
  };
  return meshFetch as MeshFetch;
}

/** Bodies of a `Request` up to this size whose bytes are already there are read, so they are replayable. */
const PEEK_LIMIT = 1024 * 1024;
const LATER = Symbol('later');

/** A `Request`: undici's, Node's global one (another undici copy), another bundle's. */
function isRequest(input: unknown): input is Request | globalThis.Request {
  if (typeof input !== 'object' || input === null || input instanceof URL) return false;
  const r = input as { url?: unknown; method?: unknown; headers?: unknown };
  return typeof r.url === 'string' && typeof r.method === 'string' && typeof r.headers === 'object';
}

/**
 * The same request as undici's `fetch` arguments: every field undici's
 * `Request` takes, then `init` over them. A `Request` hides its body's
 * origin behind a stream (ky and axios always send one): the bytes that are
 * already there (a string, buffer or form the `Request` was made from: its
 * reads settle without waiting for I/O) are read, up to {@link PEEK_LIMIT},
 * and become a known body; a body still being produced streams on, the
 * bytes read so far first.
 */
async function fromRequest(request: Request | globalThis.Request, init: RequestInit | undefined): Promise<[string, RequestInit]> {
  const base: RequestInit = {
    method: request.method,
    headers: [...(request.headers as unknown as Iterable<[string, string]>)],
    signal: request.signal as RequestInit['signal'],
    redirect: request.redirect,
    credentials: request.credentials,
    cache: request.cache,
    integrity: request.integrity,
    keepalive: request.keepalive,
    referrerPolicy: request.referrerPolicy as RequestInit['referrerPolicy'],
  };
  if (request.body !== null && init?.body === undefined) {
    const body = await peek(request.body as ReadableStream<Uint8Array>);
    base.body = body as RequestInit['body'];
    if (!(body instanceof Uint8Array)) base.duplex = 'half';
  }
  return [request.url, init === undefined ? base : assignOver(base, init)];
}

/**
 * Reads `stream` while its reads settle before the next turn of the event
 * loop (the bytes are in memory) and it stays within {@link PEEK_LIMIT}:
 * its bytes if it ended, else a stream of the bytes read then the rest.
 */
async function peek(stream: ReadableStream<Uint8Array>): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let pending: ReturnType<typeof reader.read> | undefined;
  while (size <= PEEK_LIMIT) {
    const read = reader.read();
    let timer: NodeJS.Immediate | undefined;
    const later = new Promise<typeof LATER>((resolve) => (timer = setImmediate(resolve, LATER)));
    const result = await Promise.race([read, later]);
    clearImmediate(timer);
    if (result === LATER) {
      pending = read;
      break;
    }
    if (result.done) return Buffer.concat(chunks);
    chunks.push(result.value);
    size += result.value.byteLength;
  }
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = chunks.shift();
      if (next !== undefined) return controller.enqueue(next);
      const read = pending ?? reader.read();
      pending = undefined;
      const { done, value } = await read;
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/**
 * The bytes and content type of a body fetch could extract without
 * streaming: strings, buffers and views, `URLSearchParams`, `Blob`, and
 * `FormData` (serialised by the `Response` of its own undici copy, for the
 * multipart boundary). Undefined for streams and anything else.
 */
async function knownBody(body: unknown): Promise<KnownBody | undefined> {
  if (typeof body === 'string') return { bytes: Buffer.from(body), type: 'text/plain;charset=UTF-8' };
  if (body instanceof URLSearchParams) {
    return { bytes: Buffer.from(body.toString()), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), type: undefined };
  if (ArrayBuffer.isView(body)) {
    return { bytes: new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), type: undefined };
  }
  if (body instanceof Blob) return { bytes: new Uint8Array(await body.arrayBuffer()), type: body.type || undefined };
  const FormDataResponse =
    body instanceof UndiciFormData ? UndiciResponse : body instanceof globalThis.FormData ? globalThis.Response : undefined;
  if (FormDataResponse !== undefined) {
    const serialised = new FormDataResponse(body as UndiciFormData & globalThis.FormData);
    return { bytes: new Uint8Array(await serialised.arrayBuffer()), type: serialised.headers.get('content-type') ?? undefined };
  }
  return undefined;
}

/** `options` with the body as bytes and, unless the caller set one, the content type fetch would have set. */
function withKnownBody(url: string | URL | Request, options: RequestInit, known: KnownBody): RequestInit {
  if (known.type === undefined) return assignOver(options, { body: known.bytes });
  const headers = new UndiciHeaders(options.headers ?? (url instanceof UndiciRequest ? url.headers : undefined));
  if (!headers.has('content-type')) headers.set('content-type', known.type);
  return assignOver(options, { body: known.bytes, headers });
}

/**
 * One `mesh.fetch` call's view of the mesh dispatcher: dispatches carrying
 * a body get the known bytes in place of fetch's one-shot stream, so they are
 * replayable. A redirect that drops the body (303) dispatches none and is
 * left alone.
 */
class KnownBodyDispatcher extends UnownedDispatcher {
  readonly #target: Dispatcher;
  readonly #bytes: Uint8Array;

  constructor(target: Dispatcher, bytes: Uint8Array) {
    super();
    this.#target = target;
    this.#bytes = bytes;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#target.dispatch(opts.body == null ? opts : assignOver(opts, { body: this.#bytes }), handler);
  }
}
