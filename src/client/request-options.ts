import type { Dispatcher } from 'undici';
import type { HedgeOptions, RetryOptions, TimeoutOptions } from '../config/types.js';
import { assignOver } from '../util/assign-over.js';

/**
 * Options of {@link MeshClient.request}: undici's request options without the
 * URL parts. `body` may also be a function returning the body: the mesh calls
 * it once per attempt, which makes any body replayable (so retriable).
 */
export type MeshRequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method' | 'dispatcher' | 'body'> &
  Partial<Pick<Dispatcher.RequestOptions, 'method'>> & {
    /** The request body, or a function returning it (called once per attempt: replayable). */
    body?: Dispatcher.RequestOptions['body'] | (() => NonNullable<Dispatcher.RequestOptions['body']>);
    /** Per-request overrides of the service's retry, timeout and hedge policies (field by field; `false` turns one off). */
    mesh?: RequestPolicyOverrides;
  };

/** Per-request policy overrides: the `mesh` option of {@link MeshRequestOptions}. The retry budget stays per service. */
export interface RequestPolicyOverrides {
  /** Overrides the service's {@link RetryOptions} for this request; `false`: no retry. */
  retry?: Omit<RetryOptions, 'budget'> | false;
  /** Overrides the service's {@link TimeoutOptions} for this request; `false`: no deadline. */
  timeout?: TimeoutOptions | false;
  /** Overrides the service's {@link HedgeOptions} for this request; `false`: no hedge. */
  hedge?: HedgeOptions | false;
}

/**
 * The dispatch options `undici.request(url, options)` would build, for the
 * plain case: an `http:` or `https:` URL (string or `URL`), and options
 * without `path` or `agent`. `undefined` for anything else, which goes
 * through `undici.request` itself (its URL forms and its errors). undici
 * builds them as `{ ...opts, origin, path, method }`, which is slow to make
 * and to read on Node 20 (docs/benchmarks.md, "Object spreads on Node 20");
 * this is the same object, built with `assignOver` (the {@link MeshClient.request}
 * fast path).
 */
export function directRequestOptions(
  url: string | URL,
  options: MeshRequestOptions | undefined,
  dispatcher: Dispatcher,
): Dispatcher.RequestOptions | undefined {
  if (options !== undefined && (options === null || typeof options !== 'object' || (options as { path?: unknown }).path != null || (options as { agent?: unknown }).agent)) return undefined;
  let parsed: URL;
  if (typeof url === 'string') {
    try {
      parsed = new URL(url);
    } catch {
      return undefined; // undici.request throws its own error for it
    }
  } else if (url instanceof URL) parsed = url;
  else return undefined;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  const method = options?.method || (options?.body ? 'PUT' : 'GET');
  const path = parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname;
  return assignOver(options, { dispatcher, origin: parsed.origin, path, method }) as Dispatcher.RequestOptions;
}
