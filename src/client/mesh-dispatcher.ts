import { Dispatcher } from 'undici';

/** The hooks a {@link MeshDispatcher} forwards to its client. */
export interface DispatcherTarget {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
}

/**
 * The mesh as an undici `Dispatcher`: `fetch(url, { dispatcher })`,
 * `undici.request(url, { dispatcher })` and anything else that takes a
 * dispatcher route through the same pipeline as `mesh.fetch`. Closing or
 * destroying it closes the mesh.
 */
export class MeshDispatcher extends Dispatcher {
  readonly #target: DispatcherTarget;

  /** @internal */
  constructor(target: DispatcherTarget) {
    super();
    this.#target = target;
  }

  /** Dispatches one request through the mesh pipeline (undici's Dispatcher API). */
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#target.dispatch(opts, handler);
  }

  /** Closes the mesh (see `MeshClient.close`). */
  override close(): Promise<void>;
  /** Closes the mesh, then calls `callback`. */
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.#target.close();
    if (callback) {
      done.then(callback, callback);
      return;
    }
    return done;
  }

  /** Same as {@link MeshDispatcher.close}: in-flight requests finish. */
  override destroy(): Promise<void>;
  /** Same as {@link MeshDispatcher.close}; the error is ignored. */
  override destroy(err: Error | null): Promise<void>;
  /** Same as {@link MeshDispatcher.close}, then calls `callback`. */
  override destroy(callback: () => void): void;
  /** Same as {@link MeshDispatcher.close}, then calls `callback`; the error is ignored. */
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    return this.close(callback as () => void);
  }
}
