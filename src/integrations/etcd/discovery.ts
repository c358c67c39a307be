import type {
  DiscoveredEntry,
  DiscoveryEnvironment,
  DiscoveryListener,
  DiscoveryProvider,
} from '../../discovery/provider.js';
import { Type } from '@sinclair/typebox';
import { bool, described, int, opt } from '../../util/schema-blocks.js';
import { defaultsOf } from '../../util/schema-defaults.js';
import { ETCD_CONNECTION_PROPERTIES, EtcdGateway, type EtcdConnectionOptions } from './gateway.js';
import { EtcdRangeWatch } from './range-watch.js';

/** The key prefix both discovery and registration use unless told otherwise. */
export const DEFAULT_ETCD_PREFIX = '/proxyless/services/';

/** Options of {@link etcdDiscovery}. */
export interface EtcdDiscoveryOptions extends EtcdConnectionOptions {
  /**
   * Key prefix. A service's endpoints are the keys `<prefix><service>/<id>`,
   * each value a JSON endpoint: `"http://10.0.0.1:8080"`,
   * `{"url": "...", "weight": 2}` or `{"address": "10.0.0.1", "port": 8080}`.
   * Default `/proxyless/services/`.
   */
  prefix?: string;
  /** First reconnect delay, in milliseconds (doubled per failure). Default 250. */
  reconnectMinMs?: number;
  /** Longest reconnect delay, in milliseconds. Default 5,000. */
  reconnectMaxMs?: number;
  /** Apply a service with no keys as "no endpoints". Default false (keep the last known good set). */
  allowEmpty?: boolean;
}

/** The schema of the `etcd` provider type's options: {@link EtcdDiscoveryOptions}. */
export const ETCD_DISCOVERY_OPTIONS_SCHEMA = Type.Object(
  {
    ...ETCD_CONNECTION_PROPERTIES,
    /** Key prefix; a service's endpoints are the keys `<prefix><service>/<id>`. Default '/proxyless/services/'. */
    prefix: opt(Type.String({ minLength: 1, ...described('Key prefix of the endpoint keys.', DEFAULT_ETCD_PREFIX) })),
    /** First reconnect delay, in milliseconds (doubled per failure). Default 250. */
    reconnectMinMs: opt(int('First reconnect delay, ms (doubled per failure).', 1, undefined, 250)),
    /** Longest reconnect delay, in milliseconds. Default 5,000. */
    reconnectMaxMs: opt(int('Longest reconnect delay, ms.', 1, undefined, 5_000)),
    /** Apply a service with no keys as "no endpoints". Default false. */
    allowEmpty: opt(bool('Apply a service with no keys as no endpoints.', false)),
  },
  { description: 'Options of the etcd provider type.', additionalProperties: false },
);

const DEFAULTS = defaultsOf(ETCD_DISCOVERY_OPTIONS_SCHEMA) as { prefix: string; reconnectMinMs: number; reconnectMaxMs: number };

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
 * import { etcdDiscovery } from 'proxyless/etcd';
 * const mesh = new MeshClient({
 *   discovery: etcdDiscovery({ endpoints: ['http://127.0.0.1:2379'] }),
 *   services: { orders: {} },
 * });
 * ```
 */
export function etcdDiscovery(options: EtcdDiscoveryOptions = {}): DiscoveryProvider {
  return new EtcdDiscovery(options);
}

class EtcdDiscovery implements DiscoveryProvider {
  readonly source: string;
  readonly allowEmpty: boolean;
  readonly #options: EtcdDiscoveryOptions;
  readonly #prefix: string;
  readonly #listeners = new Map<string, Set<DiscoveryListener>>();
  #gateway: EtcdGateway | undefined;
  #watch: EtcdRangeWatch | undefined;

  constructor(options: EtcdDiscoveryOptions) {
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULTS.prefix;
    this.allowEmpty = options.allowEmpty === true;
    this.source = `etcd:${this.#prefix}`;
  }

  watch(service: string, listener: DiscoveryListener, env: DiscoveryEnvironment): () => void {
    let set = this.#listeners.get(service);
    if (!set) this.#listeners.set(service, (set = new Set()));
    set.add(listener);
    if (!this.#watch) {
      this.#gateway ??= new EtcdGateway(this.#options);
      this.#watch = new EtcdRangeWatch(
        this.#gateway,
        {
          key: this.#prefix,
          prefix: true,
          reconnectMinMs: this.#options.reconnectMinMs ?? DEFAULTS.reconnectMinMs,
          reconnectMaxMs: this.#options.reconnectMaxMs ?? DEFAULTS.reconnectMaxMs,
        },
        env,
        {
          synced: () => this.#pushAll(),
          changed: (keys) => {
            const touched = new Set<string>();
            for (const key of keys) {
              const s = this.#serviceOf(key);
              if (s !== undefined) touched.add(s);
            }
            for (const s of touched) for (const l of this.#listeners.get(s) ?? []) l.update(this.#entries(s, l));
          },
          failed: (error, first) => {
            if (!first) return;
            for (const ls of this.#listeners.values()) for (const l of ls) l.error(new Error(`etcd unavailable: ${error.message}`));
          },
          recovered: () => {},
        },
      );
      this.#watch.start();
    } else if (this.#watch.synced) listener.update(this.#entries(service, listener));
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
    this.#watch?.stop();
    this.#watch = undefined;
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
    for (const [key, value] of this.#watch?.kv ?? []) {
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
