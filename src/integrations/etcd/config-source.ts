import type { ConfigSource } from '../../config/source.js';
import { EtcdGateway, type EtcdConnectionOptions } from './gateway.js';
import { EtcdRangeWatch } from './range-watch.js';

/** Options of {@link etcdConfigSource}. */
export interface EtcdConfigSourceOptions extends EtcdConnectionOptions {
  /** First reconnect delay, in milliseconds (doubled per failure). Default 250. */
  reconnectMinMs?: number;
  /** Longest reconnect delay, in milliseconds. Default 5,000. */
  reconnectMaxMs?: number;
}

/**
 * A mesh configuration kept in one etcd key, as a JSON document, watched
 * (read, then a watch resumed from the last revision after any outage; see
 * {@link etcdDiscovery} for the machinery, which it shares). Give it to
 * `mesh.watchConfig`: each new value is validated and applied whole, or
 * rejected whole with a `config` `rejected` event. While etcd is unreachable,
 * or the key is missing or not JSON, the last good config keeps serving.
 *
 * @example
 * ```ts
 * import { etcdConfigSource } from 'proxyless/etcd';
 * const mesh = new MeshClient({});
 * await mesh.watchConfig(etcdConfigSource('/proxyless/config', { endpoints: ['http://127.0.0.1:2379'] }));
 * ```
 */
export function etcdConfigSource(key: string, options: EtcdConfigSourceOptions = {}): ConfigSource {
  if (typeof key !== 'string' || key === '') throw new TypeError('etcdConfigSource needs a key');
  return {
    name: `etcd:${key}`,
    watch(listener, env) {
      const gateway = new EtcdGateway(options);
      let last: string | undefined;
      const deliver = (kv: ReadonlyMap<string, string>) => {
        const text = kv.get(key);
        if (text === undefined) {
          last = undefined;
          listener.error(new Error(`etcd key ${key} does not exist`));
          return;
        }
        if (text === last) return;
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch (error) {
          last = undefined;
          listener.error(new Error(`etcd key ${key} ignored: not valid JSON (${(error as Error).message})`));
          return;
        }
        last = text;
        listener.update(doc);
      };
      const watch = new EtcdRangeWatch(
        gateway,
        { key, prefix: false, reconnectMinMs: options.reconnectMinMs ?? 250, reconnectMaxMs: options.reconnectMaxMs ?? 5_000 },
        env,
        {
          synced: deliver,
          changed: (_keys, kv) => deliver(kv),
          failed: (error, first) => {
            if (first) listener.error(new Error(`etcd unavailable: ${error.message}`));
          },
          recovered: () => {
            last = undefined; // deliver the current value again, even when unchanged
          },
        },
      );
      watch.start();
      return () => {
        watch.stop();
        void gateway.close();
      };
    },
  };
}
