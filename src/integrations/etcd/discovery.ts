import type {
  DiscoveredEntry,
  DiscoveryEnvironment,
  DiscoveryListener,
  DiscoveryProvider,
} from '../../discovery/provider.js';
import type { TimerHandle } from '../../util/clock.js';
import { debugChannel } from '../../util/logger.js';
import {
  EtcdGateway,
  b64,
  prefixEnd,
  unb64,
  type EtcdConnectionOptions,
  type GatewayKv,
  type GatewayWatchResult,
} from './gateway.js';

const trace = debugChannel('etcd');

/** The key prefix both discovery and registration use unless told otherwise. */
export const DEFAULT_ETCD_PREFIX = '/meshlet/services/';

/** Options of {@link etcdDiscovery}. */
export interface EtcdDiscoveryOptions extends EtcdConnectionOptions {
  /**
   * Key prefix. A service's endpoints are the keys `<prefix><service>/<id>`,
   * each value a JSON endpoint: `"http://10.0.0.1:8080"`,
   * `{"url": "...", "weight": 2}` or `{"address": "10.0.0.1", "port": 8080}`.
   * Default `/meshlet/services/`.
   */
  prefix?: string;
  /** First reconnect delay, in milliseconds (doubled per failure). Default 250. */
  reconnectMinMs?: number;
  /** Longest reconnect delay, in milliseconds. Default 5,000. */
  reconnectMaxMs?: number;
  /** Apply a service with no keys as "no endpoints". Default false (keep the last known good set). */
  allowEmpty?: boolean;
}

/**
 * Endpoints from an etcd v3 key prefix, kept current with one watch over
 * the whole prefix. When the watch breaks (etcd down, network), every
 * service keeps its last known good set (a `discovery-failed` event says
 * so) while the provider reconnects with backoff and resumes the watch from
 * the last revision it saw, so no change is lost; if that revision was
 * compacted away it re-reads the prefix. A value that is not a valid
 * endpoint is rejected alone with an event naming its key.
 *
 * Talks to etcd's JSON gateway over undici (no extra dependency).
 *
 * @example
 * ```ts
 * import { etcdDiscovery } from 'meshlet/etcd';
 * const mesh = new MeshClient({
 *   discovery: etcdDiscovery({ endpoints: ['http://127.0.0.1:2379'] }),
 *   services: { orders: {} },
 * });
 * ```
 */
export function etcdDiscovery(options: EtcdDiscoveryOptions = {}): DiscoveryProvider {
  return new EtcdDiscovery(options);
}

/** The watch's start revision was compacted: resync, not an outage. */
class CompactedError extends Error {}

class EtcdDiscovery implements DiscoveryProvider {
  readonly source: string;
  readonly allowEmpty: boolean;
  readonly #options: EtcdDiscoveryOptions;
  readonly #prefix: string;
  readonly #listeners = new Map<string, Set<DiscoveryListener>>();
  #gateway: EtcdGateway | undefined;
  #env: DiscoveryEnvironment | undefined;
  /** Values by key, as of {@link EtcdDiscovery.#revision}. */
  #kv = new Map<string, string>();
  #revision = 0;
  #synced = false;
  #down: Error | undefined;
  #abort: AbortController | undefined;
  #timer: TimerHandle | undefined;
  #running = false;
  #failures = 0;

  constructor(options: EtcdDiscoveryOptions) {
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULT_ETCD_PREFIX;
    this.allowEmpty = options.allowEmpty === true;
    this.source = `etcd:${this.#prefix}`;
  }

  watch(service: string, listener: DiscoveryListener, env: DiscoveryEnvironment): () => void {
    let set = this.#listeners.get(service);
    if (!set) this.#listeners.set(service, (set = new Set()));
    set.add(listener);
    if (!this.#running) {
      this.#env = env;
      this.#gateway ??= new EtcdGateway(this.#options);
      this.#running = true;
      void this.#loop();
    } else if (this.#synced) listener.update(this.#entries(service, listener));
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(service);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#stop();
    const gateway = this.#gateway;
    this.#gateway = undefined;
    await gateway?.close();
  }

  #stop(): void {
    this.#running = false;
    this.#abort?.abort(new Error('etcd discovery stopped'));
    this.#abort = undefined;
    if (this.#timer !== undefined) this.#env?.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#synced = false;
    this.#kv = new Map();
    this.#revision = 0;
  }

  /** Range, then watch; on failure report, back off and resume from the last revision. */
  async #loop(): Promise<void> {
    while (this.#running && this.#gateway) {
      const gateway = this.#gateway;
      try {
        if (!this.#synced) await this.#resync(gateway);
        const abort = new AbortController();
        this.#abort = abort;
        await gateway.watch(
          {
            create_request: {
              key: b64(this.#prefix),
              range_end: prefixEnd(this.#prefix),
              start_revision: String(this.#revision + 1),
              progress_notify: true,
            },
          },
          (r) => this.#onWatch(r),
          abort.signal,
        );
        if (!this.#running) return;
        throw new Error('the watch stream ended');
      } catch (error) {
        if (!this.#running) return;
        if (error instanceof CompactedError) continue; // not an outage: read the prefix again at once
        this.#failed(error instanceof Error ? error : new Error(String(error)));
        const min = this.#options.reconnectMinMs ?? 250;
        const max = this.#options.reconnectMaxMs ?? 5_000;
        const delay = Math.min(max, min * 2 ** Math.min(this.#failures - 1, 16));
        await new Promise<void>((resolve) => {
          this.#timer = this.#env!.clock.setTimeout(() => {
            this.#timer = undefined;
            resolve();
          }, delay * (0.8 + 0.4 * this.#env!.random()));
        });
      }
    }
  }

  async #resync(gateway: EtcdGateway): Promise<void> {
    const res = await gateway.call<{ header?: { revision?: string }; kvs?: GatewayKv[] }>('/v3/kv/range', {
      key: b64(this.#prefix),
      range_end: prefixEnd(this.#prefix),
    });
    if (!this.#running) return;
    this.#kv = new Map((res.kvs ?? []).map((kv) => [unb64(kv.key), unb64(kv.value)]));
    this.#revision = Number(res.header?.revision ?? 0);
    this.#synced = true;
    trace('read %d keys under %s at revision %d', this.#kv.size, this.#prefix, this.#revision);
    this.#recovered();
    this.#pushAll();
  }

  #onWatch(r: GatewayWatchResult): void {
    if (!this.#running) return;
    if (r.compact_revision && r.compact_revision !== '0') {
      // The revision to resume from was compacted away: read everything again.
      this.#synced = false;
      trace('watch from revision %d compacted (at %s); reading %s again', this.#revision + 1, r.compact_revision, this.#prefix);
      throw new CompactedError();
    }
    if (r.canceled) throw new Error(`watch cancelled by etcd: ${r.cancel_reason ?? 'no reason given'}`);
    if (r.created) {
      this.#failures = 0;
      if (this.#recovered()) this.#pushAll();
      return;
    }
    const touched = new Set<string>();
    for (const ev of r.events ?? []) {
      const key = unb64(ev.kv?.key);
      if (ev.type === 'DELETE') this.#kv.delete(key);
      else this.#kv.set(key, unb64(ev.kv?.value));
      this.#revision = Math.max(this.#revision, Number(ev.kv?.mod_revision ?? 0));
      const service = this.#serviceOf(key);
      if (service !== undefined) touched.add(service);
    }
    if (!r.events?.length && r.header?.revision) this.#revision = Math.max(this.#revision, Number(r.header.revision)); // progress
    for (const service of touched) for (const l of this.#listeners.get(service) ?? []) l.update(this.#entries(service, l));
  }

  /** Clears the outage state; true when there was one. */
  #recovered(): boolean {
    if (!this.#down) return false;
    trace('watch on %s resumed at revision %d', this.#prefix, this.#revision);
    this.#down = undefined;
    return true;
  }

  #failed(error: Error): void {
    this.#failures++;
    const first = this.#down === undefined;
    this.#down = error;
    trace('etcd failure (%d): %s', this.#failures, error.message);
    if (!first) return;
    for (const set of this.#listeners.values()) for (const l of set) l.error(new Error(`etcd unavailable: ${error.message}`));
  }

  #pushAll(): void {
    for (const [service, set] of this.#listeners) for (const l of set) l.update(this.#entries(service, l));
  }

  #serviceOf(key: string): string | undefined {
    if (!key.startsWith(this.#prefix)) return undefined;
    const rest = key.slice(this.#prefix.length);
    const slash = rest.indexOf('/');
    return slash > 0 ? rest.slice(0, slash) : undefined;
  }

  /** The service's entries; values that are not JSON are rejected through `listener`. */
  #entries(service: string, listener: DiscoveryListener): DiscoveredEntry[] {
    const base = `${this.#prefix}${service}/`;
    const out: DiscoveredEntry[] = [];
    for (const [key, value] of this.#kv) {
      if (!key.startsWith(base)) continue;
      try {
        out.push({ key, endpoint: JSON.parse(value) as DiscoveredEntry['endpoint'] });
      } catch {
        listener.reject(key, `not JSON: ${value.length > 60 ? `${value.slice(0, 57)}...` : value}`);
      }
    }
    return out;
  }
}
