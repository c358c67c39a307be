import { Type } from '@sinclair/typebox';
import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import type { TimerHandle } from '../util/clock.js';
import { bool, described, int, opt, str } from '../util/schema-blocks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import type {
  DiscoveredEntry,
  DiscoveryEnvironment,
  DiscoveryListener,
  DiscoveryProvider,
  DiscoveryProviderDefinition,
} from './provider.js';

/** The few resolver calls {@link dnsDiscovery} makes; node's `dns.promises.Resolver` fits. */
export interface DnsResolver {
  /** A records with their TTLs (as `node:dns` `resolve4(name, { ttl: true })`). */
  resolve4(hostname: string, options: { ttl: true }): Promise<DnsAddress[]>;
  /** AAAA records with their TTLs. */
  resolve6(hostname: string, options: { ttl: true }): Promise<DnsAddress[]>;
  /** SRV records (as `node:dns` `resolveSrv`). */
  resolveSrv(hostname: string): Promise<DnsSrvRecord[]>;
}

/** One A or AAAA answer. */
export interface DnsAddress {
  /** The IP address. */
  address: string;
  /** Time to live, in seconds. */
  ttl: number;
}

/** One SRV answer. */
export interface DnsSrvRecord {
  /** The target host name. */
  name: string;
  /** The target port. */
  port: number;
  /** Lower is preferred (becomes the endpoint's `priority` level). */
  priority: number;
  /** Relative weight within a priority (becomes the endpoint's `weight`). */
  weight: number;
}

/** Options of {@link dnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /**
   * The DNS name to resolve for a service: a fixed name, or a function of the
   * service name. Default: the service name itself. For SRV, the full name,
   * e.g. `_http._tcp.orders.example.com`.
   */
  hostname?: string | ((service: string) => string);
  /** Records to read: `'A'` (default), `'AAAA'`, `'A+AAAA'` or `'SRV'`. */
  type?: 'A' | 'AAAA' | 'A+AAAA' | 'SRV';
  /** Port of A/AAAA endpoints. Default 80 (443 for https). SRV records carry their own. */
  port?: number;
  /** `'http'` (default) or `'https'`. */
  protocol?: 'http' | 'https';
  /** DNS servers to ask instead of the system's, e.g. `['10.0.0.2', '127.0.0.1:5353']`. */
  servers?: string[];
  /** Lower bound of the refresh interval, in milliseconds (a TTL of 0 is not a busy loop). Default 1,000. */
  minTtlMs?: number;
  /** Upper bound of the refresh interval, in milliseconds. Default 300,000. */
  maxTtlMs?: number;
  /**
   * Refresh interval for SRV answers, in milliseconds, before the bounds:
   * node does not expose SRV TTLs, so the SRV set is re-read this often (or
   * sooner, when a target's address TTL is shorter). Default 30,000.
   */
  srvRefreshMs?: number;
  /** Per-query timeout, in milliseconds. Default 5,000. */
  timeoutMs?: number;
  /** Apply an answer with no records (NXDOMAIN, NODATA) as "no endpoints". Default false. */
  allowEmpty?: boolean;
  /** A resolver to use instead of node's (tests, caching layers). `servers` and `timeoutMs` then do not apply. */
  resolver?: DnsResolver;
}

/**
 * The schema of the `dns` provider type's options in a configuration
 * (`{ type: 'dns', hostname, recordType, ... }`): the options of
 * {@link DnsDiscoveryOptions} that JSON can give, with the record type
 * named `recordType` (`type` names the provider).
 */
export const DNS_DISCOVERY_OPTIONS_SCHEMA = Type.Object(
  {
    /** The DNS name to resolve (for SRV the full name, e.g. `_http._tcp.orders.example.com`). Default: the service name. */
    hostname: opt(str('The DNS name to resolve. Default: the service name.')),
    /** Records to read. Default 'A'. */
    recordType: opt(Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('A+AAAA'), Type.Literal('SRV')], described('Records to read.', 'A'))),
    /** Port of A/AAAA endpoints, 1 to 65,535. Default: 80, or 443 for https. SRV records carry their own. */
    port: opt(int('Port of A/AAAA endpoints. Default 80 (443 for https).', 1, 65_535)),
    /** The endpoints' protocol. Default 'http'. */
    protocol: opt(Type.Union([Type.Literal('http'), Type.Literal('https')], described("The endpoints' protocol.", 'http'))),
    /** DNS servers to ask instead of the system's, e.g. `['10.0.0.2', '127.0.0.1:5353']`. */
    servers: opt(Type.Array(str('A server address, with an optional port.'), { description: "DNS servers to ask instead of the system's." })),
    /** Lower bound of the refresh interval, in milliseconds. Default 1,000. */
    minTtlMs: opt(int('Lower bound of the refresh interval, ms.', 1, undefined, 1_000)),
    /** Upper bound of the refresh interval, in milliseconds. Default 300,000. */
    maxTtlMs: opt(int('Upper bound of the refresh interval, ms.', 1, undefined, 300_000)),
    /** Refresh interval of SRV answers, in milliseconds, before the bounds. Default 30,000. */
    srvRefreshMs: opt(int('Refresh interval of SRV answers, ms.', 1, undefined, 30_000)),
    /** Per-query timeout, in milliseconds. Default 5,000. */
    timeoutMs: opt(int('Per-query timeout, ms.', 1, undefined, 5_000)),
    /** Apply an answer with no records as "no endpoints". Default false. */
    allowEmpty: opt(bool('Apply an answer with no records as no endpoints.', false)),
  },
  { description: 'Options of the dns provider type.', additionalProperties: false },
);

const DEFAULTS = defaultsOf(DNS_DISCOVERY_OPTIONS_SCHEMA) as {
  recordType: 'A';
  protocol: 'http';
  minTtlMs: number;
  maxTtlMs: number;
  srvRefreshMs: number;
  timeoutMs: number;
};
const NO_DATA = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);

/**
 * Endpoints from DNS: A/AAAA records (one endpoint per address, on `port`)
 * or SRV records (target, port, weight and priority from each record; the
 * targets resolved through the same servers). Re-resolved when the answer's
 * TTL expires, within `minTtlMs`/`maxTtlMs`; a failed lookup keeps the last
 * known good set and retries with backoff.
 *
 * @example
 * ```ts
 * const mesh = new MeshClient({
 *   services: {
 *     orders: { discovery: dnsDiscovery({ type: 'SRV', hostname: '_http._tcp.orders.internal', servers: ['10.0.0.2'] }) },
 *   },
 * });
 * ```
 */
export function dnsDiscovery(options: DnsDiscoveryOptions = {}): DiscoveryProvider {
  return new DnsDiscovery(options);
}

class DnsDiscovery implements DiscoveryProvider {
  readonly source: string;
  readonly allowEmpty: boolean;
  readonly #o: DnsDiscoveryOptions;
  #resolver: DnsResolver | undefined;
  readonly #watches = new Set<{ stop(): void }>();

  constructor(options: DnsDiscoveryOptions) {
    this.#o = options;
    this.allowEmpty = options.allowEmpty === true;
    const name = typeof options.hostname === 'string' ? options.hostname : '<service>';
    this.source = `dns:${options.type ?? DEFAULTS.recordType}:${name}${options.servers ? `@${options.servers.join(',')}` : ''}`;
  }

  watch(service: string, listener: DiscoveryListener, env: DiscoveryEnvironment): () => void {
    const o = this.#o;
    const hostname = typeof o.hostname === 'function' ? o.hostname(service) : (o.hostname ?? service);
    const minMs = o.minTtlMs ?? DEFAULTS.minTtlMs;
    const maxMs = Math.max(minMs, o.maxTtlMs ?? DEFAULTS.maxTtlMs);
    const clamp = (ms: number): number => Math.min(maxMs, Math.max(minMs, ms));
    let timer: TimerHandle | undefined;
    let stopped = false;
    let failures = 0;
    const run = async (): Promise<void> => {
      timer = undefined;
      let next: number;
      try {
        const { entries, ttlMs } = await this.#lookup(hostname);
        if (stopped) return;
        failures = 0;
        listener.update(entries);
        next = clamp(ttlMs);
      } catch (error) {
        if (stopped) return;
        failures++;
        listener.error(new Error(`cannot resolve ${o.type ?? DEFAULTS.recordType} ${hostname}: ${(error as Error).message}`));
        next = clamp(minMs * 2 ** Math.min(failures - 1, 10));
      }
      // A little jitter so many clients do not refresh in lock-step.
      timer = env.clock.setTimeout(() => void run(), next * (1 + 0.1 * env.random()));
    };
    const handle = {
      stop: () => {
        stopped = true;
        if (timer !== undefined) env.clock.clearTimeout(timer);
        timer = undefined;
      },
    };
    this.#watches.add(handle);
    void run();
    return () => {
      handle.stop();
      this.#watches.delete(handle);
    };
  }

  close(): void {
    for (const w of this.#watches) w.stop();
    this.#watches.clear();
  }

  #getResolver(): DnsResolver {
    if (this.#resolver) return this.#resolver;
    const o = this.#o;
    if (o.resolver) return (this.#resolver = o.resolver);
    const r = new dnsPromises.Resolver({ timeout: o.timeoutMs ?? DEFAULTS.timeoutMs, tries: 2 });
    if (o.servers) r.setServers(o.servers);
    return (this.#resolver = r);
  }

  async #lookup(hostname: string): Promise<{ entries: DiscoveredEntry[]; ttlMs: number }> {
    const o = this.#o;
    const type = o.type ?? DEFAULTS.recordType;
    const protocol = o.protocol ?? DEFAULTS.protocol;
    if (type !== 'SRV') {
      const port = o.port ?? (protocol === 'https' ? 443 : 80);
      const { addresses, ttl } = await this.#addresses(hostname, type);
      return {
        entries: addresses.map((address) => ({ key: `${hostname}/${address}`, endpoint: { address, port, protocol } })),
        ttlMs: ttl * 1000,
      };
    }
    const resolver = this.#getResolver();
    let records: Awaited<ReturnType<DnsResolver['resolveSrv']>>;
    try {
      records = await resolver.resolveSrv(hostname);
    } catch (error) {
      if (NO_DATA.has((error as { code?: string }).code ?? '')) return { entries: [], ttlMs: o.srvRefreshMs ?? DEFAULTS.srvRefreshMs };
      throw error;
    }
    const allZero = records.every((r) => r.weight === 0);
    let ttlMs = o.srvRefreshMs ?? DEFAULTS.srvRefreshMs;
    const entries: DiscoveredEntry[] = [];
    // Targets resolve in parallel, once each.
    const targets = new Map<string, Promise<{ addresses: string[]; ttl: number }>>();
    for (const r of records) {
      if (!isIP(r.name) && !targets.has(r.name)) targets.set(r.name, this.#addresses(r.name, 'A+AAAA'));
    }
    const names = [...targets.keys()];
    const answers = await Promise.all(targets.values());
    const resolved = new Map(names.map((name, i) => [name, answers[i]!]));
    for (const r of records) {
      // RFC 2782: weight 0 is picked rarely when others have weight.
      const weight = allZero ? 1 : r.weight === 0 ? 0.01 : r.weight;
      let addresses: string[];
      if (isIP(r.name)) addresses = [r.name];
      else {
        const found = resolved.get(r.name)!;
        addresses = found.addresses;
        if (found.addresses.length > 0) ttlMs = Math.min(ttlMs, found.ttl * 1000);
      }
      for (const address of addresses) {
        entries.push({
          key: `${hostname}/${r.name}:${r.port}/${address}`,
          endpoint: { address, port: r.port, protocol, weight, priority: r.priority },
        });
      }
    }
    return { entries, ttlMs };
  }

  /** Addresses of a name with the smallest TTL among them; no records is an empty list. */
  async #addresses(hostname: string, type: 'A' | 'AAAA' | 'A+AAAA'): Promise<{ addresses: string[]; ttl: number }> {
    const resolver = this.#getResolver();
    const ask = async (family: 4 | 6): Promise<{ address: string; ttl: number }[]> => {
      try {
        return family === 4 ? await resolver.resolve4(hostname, { ttl: true }) : await resolver.resolve6(hostname, { ttl: true });
      } catch (error) {
        if (NO_DATA.has((error as { code?: string }).code ?? '')) return [];
        throw error;
      }
    };
    const families: (4 | 6)[] = type === 'A' ? [4] : type === 'AAAA' ? [6] : [4, 6];
    const settled = await Promise.allSettled(families.map(ask));
    const records = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    // With both families, one failing (some servers refuse AAAA for local names) is fine if the other answered.
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && (families.length === 1 || settled.every((r) => r.status === 'rejected'))) throw failed.reason;
    const ttl = records.length === 0 ? 30 : Math.min(...records.map((r) => r.ttl));
    return { addresses: [...new Set(records.map((r) => r.address))], ttl };
  }
}

/**
 * The `dns` provider type for configuration files:
 * `{ type: 'dns', hostname, recordType: 'SRV', servers, ... }` (the record
 * type is `recordType` there, because `type` names the provider).
 */
export const dnsDiscoveryType: DiscoveryProviderDefinition = {
  options: DNS_DISCOVERY_OPTIONS_SCHEMA,
  create: (o) => {
    const { recordType, ...rest } = o;
    return dnsDiscovery({ ...(rest as DnsDiscoveryOptions), ...(recordType === undefined ? {} : { type: recordType as DnsDiscoveryOptions['type'] }) });
  },
};
