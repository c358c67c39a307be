import { Dispatcher } from 'undici';

/** The hooks a {@link MeshDispatcher} forwards to its client. */
export interface DispatcherTarget {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(error: Error | null): Promise<void>;
}

/**
 * The mesh as an undici `Dispatcher`: `fetch(url, { dispatcher })`,
 * `undici.request(url, { dispatcher })` and anything else that takes a
 * dispatcher route through the same pipeline as `mesh.fetch`. With undici's
 * Dispatcher semantics: `close()` is `MeshClient.close()` (new requests are
 * refused, those in flight drain, for at most the default drain time), and
 * `destroy(err)` is `MeshClient.destroy(err)` (those in flight fail at once).
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

  /** Destroys the mesh (see `MeshClient.destroy`): requests in flight fail with `MESH_CLOSED` at once. */
  override destroy(): Promise<void>;
  /** Destroys the mesh; requests in flight fail with `MESH_CLOSED` whose `cause` is `err`. */
  override destroy(err: Error | null): Promise<void>;
  /** Destroys the mesh, then calls `callback`. */
  override destroy(callback: () => void): void;
  /** Destroys the mesh (`err` as the `cause` of the requests' `MESH_CLOSED`), then calls `callback`. */
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    const done = this.#target.destroy(typeof a === 'function' ? null : (a ?? null));
    if (callback) {
      done.then(callback, callback);
      return;
    }
    return done;
  }
}
