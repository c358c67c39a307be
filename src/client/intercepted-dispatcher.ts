import { Dispatcher } from 'undici';
import { UnownedDispatcher } from './unowned-dispatcher.js';

/** An undici `compose` interceptor: `(dispatch) => dispatch`. */
export type Interceptor = Dispatcher.DispatcherComposeInterceptor;

/**
 * An endpoint's dispatcher (its Pool, or the `transport`'s dispatcher for its
 * origin) with the service's `connection.interceptors` in front, composed by
 * undici's own `Dispatcher.prototype.compose`: the same order (the last
 * interceptor sees the request first) and the same wrapping of legacy
 * handlers as `pool.compose(...)`. It owns nothing: closing it releases
 * nothing, the endpoint closes its pool itself.
 *
 * An interceptor's failure fails that dispatch the way undici's dispatchers
 * fail their own (the handler's `onResponseError`, `false` returned), never
 * escaping into the caller: a synchronous throw while dispatching, and a
 * throw while composing (an interceptor that throws when given `dispatch`),
 * which then fails every dispatch with that error.
 */
export class InterceptedDispatcher extends UnownedDispatcher {
  readonly #chain: Dispatcher.Dispatch | undefined;
  readonly #broken: Error | undefined;

  constructor(target: Dispatcher, interceptors: readonly Interceptor[]) {
    super();
    let chain: Dispatcher.Dispatch | undefined;
    let broken: Error | undefined;
    try {
      // `compose` is generic over `this.dispatch`: it also serves a transport's dispatcher that does not extend Dispatcher.
      chain = Dispatcher.prototype.compose.apply(target, [...interceptors]).dispatch;
    } catch (error) {
      broken = asError(error);
    }
    this.#chain = chain;
    this.#broken = broken;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const chain = this.#chain;
    if (chain === undefined) return failed(handler, this.#broken!);
    try {
      return chain(opts, handler);
    } catch (error) {
      return failed(handler, asError(error));
    }
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(`an interceptor threw ${String(value)}`);
}

/** Fails a dispatch through its handler, as undici's dispatchers do; returns `false`. */
function failed(handler: Dispatcher.DispatchHandler, error: Error): boolean {
  const legacy = handler as { onError?: (error: Error) => void };
  if (typeof handler.onResponseError === 'function') handler.onResponseError(abortedController(error), error);
  else if (typeof legacy.onError === 'function') legacy.onError(error);
  else throw error;
  return false;
}

/** The controller a failed dispatch's handler sees: already aborted with `reason`. */
function abortedController(reason: Error): Dispatcher.DispatchController {
  return { aborted: true, paused: false, reason, abort() {}, pause() {}, resume() {} };
}
