import { hostname } from 'node:os';
import type { DiscoveredEndpoint } from '../../discovery/provider.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { debugChannel } from '../../util/logger.js';
import { DEFAULT_ETCD_PREFIX } from './discovery.js';
import { EtcdGateway, b64, type EtcdConnectionOptions } from './gateway.js';

const trace = debugChannel('etcd');

/** Options of {@link registerWithEtcd}. */
export interface EtcdRegistrationOptions extends EtcdConnectionOptions {
  /** The service this process serves, e.g. `orders`. */
  service: string;
  /** This instance's endpoint: `'http://10.0.0.1:8080'`, `{ url, weight, zone, labels }` or `{ address, port, ... }`. */
  endpoint: DiscoveredEndpoint;
  /** Instance id, unique within the service. Default `<hostname>-<pid>`. */
  id?: string;
  /** Key prefix, as for {@link etcdDiscovery}. Default `/proxyless/services/`. */
  prefix?: string;
  /**
   * Lease time to live, in seconds: how long the key outlives this process
   * if it dies without deregistering. Heartbeats go every third of it. Default 10.
   */
  ttlSeconds?: number;
  /** Clock for the heartbeats. Default: the real one (timers unref'd: registration never keeps a process alive). */
  clock?: Clock;
  /** Called when a heartbeat or re-registration fails (it is retried at the next beat). */
  onError?: (error: Error) => void;
}

/** A live registration from {@link registerWithEtcd}. */
export interface EtcdRegistration {
  /** The key holding this instance's endpoint. */
  readonly key: string;
  /** The current lease id (changes when an expired lease is replaced). */
  readonly leaseId: string;
  /** Heartbeats sent successfully. */
  readonly heartbeats: number;
  /** Revokes the lease, which deletes the key at once, and stops the heartbeats. */
  close(): Promise<void>;
}

/**
 * Self-registration: puts this instance's endpoint under
 * `<prefix><service>/<id>` attached to a lease and keeps the lease alive
 * with heartbeats. `close()` deregisters at once (lease revoked); if the
 * process dies, etcd deletes the key when the lease expires (within
 * `ttlSeconds`). If the lease expired anyway (etcd unreachable for longer
 * than the TTL), the next successful heartbeat registers again with a new
 * lease. Resolves once registered.
 *
 * @example
 * ```ts
 * import { registerWithEtcd } from 'proxyless/etcd';
 * const registration = await registerWithEtcd({ service: 'orders', endpoint: `http://10.0.0.1:${port}` });
 * process.on('SIGTERM', () => void registration.close());
 * ```
 */
export async function registerWithEtcd(options: EtcdRegistrationOptions): Promise<EtcdRegistration> {
  if (typeof options?.service !== 'string' || !/^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/.test(options.service)) {
    throw new TypeError(`registerWithEtcd: service must be a service name, found ${JSON.stringify(options?.service)}`);
  }
  const ttl = options.ttlSeconds ?? 10;
  if (!Number.isInteger(ttl) || ttl < 2) throw new TypeError('registerWithEtcd: ttlSeconds must be an integer >= 2');
  const id = options.id ?? `${hostname()}-${process.pid}`;
  const key = `${options.prefix ?? DEFAULT_ETCD_PREFIX}${options.service}/${id}`;
  const value = JSON.stringify(options.endpoint);
  const clock = options.clock ?? systemClock;
  const gateway = new EtcdGateway(options);

  let leaseId = '';
  let heartbeats = 0;
  let timer: TimerHandle | undefined;
  let closed = false;

  const register = async (): Promise<void> => {
    const grant = await gateway.call<{ ID?: string }>('/v3/lease/grant', { TTL: String(ttl) });
    if (!grant.ID) throw new Error('etcd granted no lease');
    await gateway.call('/v3/kv/put', { key: b64(key), value: b64(value), lease: grant.ID });
    leaseId = grant.ID;
    trace('registered %s with lease %s (ttl %d s)', key, leaseId, ttl);
  };

  const beat = async (): Promise<void> => {
    timer = undefined;
    if (closed) return;
    try {
      const res = await gateway.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: leaseId });
      if (closed) return;
      if (!res.result?.TTL || Number(res.result.TTL) <= 0) {
        trace('lease %s of %s expired; registering again', leaseId, key);
        await register();
      }
      heartbeats++;
    } catch (error) {
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
    if (!closed) timer = clock.setTimeout(() => void beat(), (ttl * 1000) / 3);
  };

  try {
    await register();
  } catch (error) {
    await gateway.close();
    throw error;
  }
  timer = clock.setTimeout(() => void beat(), (ttl * 1000) / 3);

  return {
    key,
    get leaseId() {
      return leaseId;
    },
    get heartbeats() {
      return heartbeats;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      try {
        await gateway.call('/v3/lease/revoke', { ID: leaseId });
        trace('deregistered %s', key);
      } finally {
        await gateway.close();
      }
    },
  };
}
