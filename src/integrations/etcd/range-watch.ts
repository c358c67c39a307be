import type { Clock, TimerHandle } from '../../util/clock.js';
import { debugChannel } from '../../util/logger.js';
import { b64, prefixEnd, unb64, type EtcdGateway, type GatewayKv, type GatewayWatchResult } from './gateway.js';

const trace = debugChannel('etcd');

/** What an {@link EtcdRangeWatch} reports. */
export interface RangeWatchHandlers {
  /** The whole range was read (first time, after a compaction or a recovery): every value by key. */
  synced(kv: ReadonlyMap<string, string>): void;
  /** Keys changed by watch events; `kv` is the whole range after them. */
  changed(keys: ReadonlySet<string>, kv: ReadonlyMap<string, string>): void;
  /** etcd failed; `first` is true for the first failure of an outage (later ones while it lasts are false). */
  failed(error: Error, first: boolean): void;
  /** The watch is back after an outage (the range is pushed again through `synced` or `changed`). */
  recovered(): void;
}

/** Options of an {@link EtcdRangeWatch}. */
export interface RangeWatchOptions {
  /** The key, or the prefix when `prefix` is true. */
  readonly key: string;
  /** Watch every key starting with `key`. */
  readonly prefix: boolean;
  /** First reconnect delay, in milliseconds (doubled per failure). */
  readonly reconnectMinMs: number;
  /** Longest reconnect delay, in milliseconds. */
  readonly reconnectMaxMs: number;
}

/** The watch's start revision was compacted: resync, not an outage. */
class CompactedError extends Error {}

/**
 * One etcd key (or key prefix) kept current: read, then watch from the next
 * revision; when the watch breaks, report, reconnect with jittered backoff on
 * the mesh clock and resume from the last revision seen (no change lost); a
 * compacted revision reads the range again. Shared by etcd discovery and the
 * etcd config source.
 */
export class EtcdRangeWatch {
  readonly #gateway: EtcdGateway;
  readonly #options: RangeWatchOptions;
  readonly #env: { readonly clock: Clock; readonly random: () => number };
  readonly #handlers: RangeWatchHandlers;
  #kv = new Map<string, string>();
  #revision = 0;
  #synced = false;
  #down = false;
  #abort: AbortController | undefined;
  #timer: TimerHandle | undefined;
  #running = false;
  #failures = 0;

  constructor(gateway: EtcdGateway, options: RangeWatchOptions, env: { clock: Clock; random: () => number }, handlers: RangeWatchHandlers) {
    this.#gateway = gateway;
    this.#options = options;
    this.#env = env;
    this.#handlers = handlers;
  }

  /** True once the range was read (and the values are current or last known good). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Every value by key, as last seen. */
  get kv(): ReadonlyMap<string, string> {
    return this.#kv;
  }

  /** Starts reading and watching. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#loop();
  }

  /** Stops the watch and its timers and forgets the values. */
  stop(): void {
    this.#running = false;
    this.#abort?.abort(new Error('etcd watch stopped'));
    this.#abort = undefined;
    if (this.#timer !== undefined) this.#env.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#synced = false;
    this.#kv = new Map();
    this.#revision = 0;
  }

  #range(): { key: string; range_end?: string } {
    const key = b64(this.#options.key);
    return this.#options.prefix ? { key, range_end: prefixEnd(this.#options.key) } : { key };
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      try {
        if (!this.#synced) await this.#resync();
        if (!this.#running) return;
        const abort = new AbortController();
        this.#abort = abort;
        await this.#gateway.watch(
          { create_request: { ...this.#range(), start_revision: String(this.#revision + 1), progress_notify: true } },
          (r) => this.#onWatch(r),
          abort.signal,
        );
        if (!this.#running) return;
        throw new Error('the watch stream ended');
      } catch (error) {
        if (!this.#running) return;
        if (error instanceof CompactedError) continue; // not an outage: read the range again at once
        this.#failed(error instanceof Error ? error : new Error(String(error)));
        const delay = Math.min(this.#options.reconnectMaxMs, this.#options.reconnectMinMs * 2 ** Math.min(this.#failures - 1, 16));
        await new Promise<void>((resolve) => {
          this.#timer = this.#env.clock.setTimeout(() => {
            this.#timer = undefined;
            resolve();
          }, delay * (0.8 + 0.4 * this.#env.random()));
        });
      }
    }
  }

  async #resync(): Promise<void> {
    const res = await this.#gateway.call<{ header?: { revision?: string }; kvs?: GatewayKv[] }>('/v3/kv/range', this.#range());
    if (!this.#running) return;
    this.#kv = new Map((res.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value)]));
    this.#revision = Number(res.header?.revision ?? 0);
    this.#synced = true;
    trace('read %d keys at %s, revision %d', this.#kv.size, this.#options.key, this.#revision);
    this.#recovered();
    this.#handlers.synced(this.#kv);
  }

  #onWatch(r: GatewayWatchResult): void {
    if (!this.#running) return;
    if (r.compact_revision && r.compact_revision !== '0') {
      // The revision to resume from was compacted away: read everything again.
      this.#synced = false;
      trace('watch from revision %d compacted (at %s); reading %s again', this.#revision + 1, r.compact_revision, this.#options.key);
      throw new CompactedError();
    }
    if (r.canceled) throw new Error(`watch cancelled by etcd: ${r.cancel_reason ?? 'no reason given'}`);
    if (r.created) {
      this.#failures = 0;
      if (this.#recovered()) this.#handlers.synced(this.#kv);
      return;
    }
    const touched = new Set<string>();
    for (const ev of r.events ?? []) {
      const key = unb64(ev.kv?.key);
      if (ev.type === 'DELETE') this.#kv.delete(key);
      else this.#kv.set(key, unb64(ev.kv?.value));
      this.#revision = Math.max(this.#revision, Number(ev.kv?.mod_revision ?? 0));
      touched.add(key);
    }
    if (!r.events?.length && r.header?.revision) this.#revision = Math.max(this.#revision, Number(r.header.revision)); // progress
    if (touched.size > 0) this.#handlers.changed(touched, this.#kv);
  }

  /** Clears the outage state; true when there was one. */
  #recovered(): boolean {
    if (!this.#down) return false;
    trace('watch on %s resumed at revision %d', this.#options.key, this.#revision);
    this.#down = false;
    this.#handlers.recovered();
    return true;
  }

  #failed(error: Error): void {
    this.#failures++;
    const first = !this.#down;
    this.#down = true;
    trace('etcd failure (%d): %s', this.#failures, error.message);
    this.#handlers.failed(error, first);
  }
}
