import { Dispatcher, errors } from 'undici';

/**
 * A view of the mesh's dispatcher for a consumer that closes the dispatcher
 * it was given (an SDK's `client.close()`), from
 * `MeshClient.borrowDispatcher()`. It dispatches through the mesh like
 * `mesh.dispatcher`; `close()` and `destroy()` detach only this view: later
 * dispatches through it fail with undici's `ClientClosedError` (or
 * `ClientDestroyedError`), requests already sent finish, and the mesh keeps
 * serving everyone else. The mesh is owned by its `MeshClient`: close that
 * with `mesh.close()`.
 */
export class BorrowedDispatcher extends Dispatcher {
  readonly #target: Dispatcher;
  #state: 'open' | 'closed' | 'destroyed' = 'open';

  /** @internal */
  constructor(target: Dispatcher) {
    super();
    this.#target = target;
  }

  /** True once `close()` or `destroy()` detached this view. */
  get closed(): boolean {
    return this.#state !== 'open';
  }

  /**
   * Dispatches one request through the mesh, or, once detached, fails it as
   * an undici dispatcher does: the handler's error callback gets undici's
   * `ClientClosedError` (`ClientDestroyedError` after `destroy()`) and
   * `false` is returned.
   */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#state === 'open') return this.#target.dispatch(opts, handler);
    const error = this.#state === 'closed' ? new errors.ClientClosedError() : new errors.ClientDestroyedError();
    const legacy = handler as { onError?: (error: Error) => void };
    if (typeof handler.onResponseError === 'function') handler.onResponseError(detachedController(error), error);
    else if (typeof legacy.onError === 'function') legacy.onError(error);
    else throw error;
    return false;
  }

  /** Detaches this view (the mesh keeps serving); resolves at once. */
  override close(): Promise<void>;
  /** Detaches this view, then calls `callback`. */
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    if (this.#state === 'open') this.#state = 'closed';
    if (callback) return void queueMicrotask(callback);
    return Promise.resolve();
  }

  /** Detaches this view like {@link BorrowedDispatcher.close}; requests already sent are not aborted (they are the mesh's). */
  override destroy(): Promise<void>;
  /** Same as {@link BorrowedDispatcher.destroy}; the error is ignored. */
  override destroy(err: Error | null): Promise<void>;
  /** Same as {@link BorrowedDispatcher.destroy}, then calls `callback`. */
  override destroy(callback: () => void): void;
  /** Same as {@link BorrowedDispatcher.destroy}, then calls `callback`; the error is ignored. */
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    this.#state = 'destroyed';
    const callback = typeof a === 'function' ? a : b;
    if (callback) return void queueMicrotask(callback);
    return Promise.resolve();
  }
}

/** The controller a refused dispatch's handler sees: already aborted with `reason`. */
function detachedController(reason: Error): Dispatcher.DispatchController {
  return { aborted: true, paused: false, reason, abort() {}, pause() {}, resume() {} };
}
