import { Dispatcher } from 'undici';

/**
 * Base of dispatchers whose resources belong to someone else (a user's
 * transport, a scripted endpoint): closing or destroying one releases
 * nothing and just settles. Subclasses implement `dispatch`.
 */
export abstract class UnownedDispatcher extends Dispatcher {
  abstract override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    if (callback) return void queueMicrotask(callback);
    return Promise.resolve();
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? a : b;
    return this.close(callback as () => void);
  }
}
