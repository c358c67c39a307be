/**
 * `proxyless/etcd`: service discovery from an etcd v3 key prefix (with a
 * resumable watch), self-registration with lease heartbeats, and a config
 * source (one key holding the mesh configuration). Talks to
 * etcd's JSON gateway over undici, so it adds no dependency.
 *
 * @packageDocumentation
 * @module proxyless/etcd
 */
import type { DiscoveryProviderDefinition } from '../../discovery/provider.js';
import type { ConfigIssue } from '../../errors/mesh-error.js';
import { etcdDiscovery, type EtcdDiscoveryOptions } from './discovery.js';
import { unknownOptionMessage } from '../../util/suggest.js';

export { etcdDiscovery, DEFAULT_ETCD_PREFIX, type EtcdDiscoveryOptions } from './discovery.js';
export { registerWithEtcd, type EtcdRegistration, type EtcdRegistrationOptions } from './registration.js';
export type { EtcdConnectionOptions } from './gateway.js';
export { etcdConfigSource, type EtcdConfigSourceOptions } from './config-source.js';

const KEYS = ['endpoints', 'prefix', 'timeoutMs', 'reconnectMinMs', 'reconnectMaxMs', 'allowEmpty'];

/**
 * The `etcd` provider type, for configurations that name providers by type.
 * Register it yourself (importing this module has no side effects):
 *
 * @example
 * ```ts
 * registerDiscoveryProvider('etcd', etcdDiscoveryType);
 * new MeshClient({ discovery: { type: 'etcd', endpoints: ['http://127.0.0.1:2379'] }, services: { orders: {} } });
 * ```
 */
export const etcdDiscoveryType: DiscoveryProviderDefinition = {
  create: (o) => etcdDiscovery(o as EtcdDiscoveryOptions),
  validate(o) {
    const issues: ConfigIssue[] = [];
    for (const k of Object.keys(o)) if (!KEYS.includes(k)) issues.push({ path: k, message: unknownOptionMessage(k, KEYS) });
    if (o.endpoints !== undefined) {
      if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) issues.push({ path: 'endpoints', message: 'expected a non-empty array of URLs' });
      else
        o.endpoints.forEach((e: unknown, i) => {
          try {
            new URL(e as string);
          } catch {
            issues.push({ path: `endpoints.${i}`, message: `expected an etcd client URL, found ${JSON.stringify(e)}` });
          }
        });
    }
    if (o.prefix !== undefined && (typeof o.prefix !== 'string' || o.prefix === '')) issues.push({ path: 'prefix', message: 'expected a non-empty key prefix' });
    for (const k of ['timeoutMs', 'reconnectMinMs', 'reconnectMaxMs']) {
      const v = o[k];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) issues.push({ path: k, message: `expected an integer >= 1, found ${JSON.stringify(v)}` });
    }
    if (o.allowEmpty !== undefined && typeof o.allowEmpty !== 'boolean') issues.push({ path: 'allowEmpty', message: 'expected a boolean' });
    return issues;
  },
};
