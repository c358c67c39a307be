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
import { ETCD_DISCOVERY_OPTIONS_SCHEMA, etcdDiscovery, type EtcdDiscoveryOptions } from './discovery.js';

export { etcdDiscovery, DEFAULT_ETCD_PREFIX, ETCD_DISCOVERY_OPTIONS_SCHEMA, type EtcdDiscoveryOptions } from './discovery.js';
export { registerWithEtcd, type EtcdRegistration, type EtcdRegistrationOptions } from './registration.js';
export type { EtcdConnectionOptions } from './gateway.js';
export { etcdConfigSource, type EtcdConfigSourceOptions } from './config-source.js';

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
  options: ETCD_DISCOVERY_OPTIONS_SCHEMA,
  create: (o) => etcdDiscovery(o as EtcdDiscoveryOptions),
};
