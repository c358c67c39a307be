import type { DiscoveredEndpoint, DiscoveryListener, DiscoveryProvider, DiscoveryProviderDefinition } from './provider.js';
import { Type } from '@sinclair/typebox';
import { bool, opt } from '../util/schema-blocks.js';

/** Options of {@link staticDiscovery}. */
export interface StaticDiscoveryOptions {
  /** Apply an empty list as "no endpoints" instead of ignoring it. Default false. */
  allowEmpty?: boolean;
  /** The name used in events and `snapshot()`. Default `'static'`. */
  source?: string;
}

/**
 * A fixed endpoint list per service, behind the provider interface: what
 * `services.<name>.endpoints` does, usable as one provider among others (for
 * example a last-resort fallback after etcd). A service missing from the map
 * gets an empty set (ignored unless `allowEmpty`).
 *
 * @example
 * ```ts
 * const mesh = new MeshClient({
 *   discovery: staticDiscovery({ orders: ['http://127.0.0.1:8081', { address: '127.0.0.1', port: 8082 }] }),
 *   services: { orders: {} },
 * });
 * ```
 */
export function staticDiscovery(
  endpoints: Readonly<Record<string, readonly DiscoveredEndpoint[]>>,
  options: StaticDiscoveryOptions = {},
): DiscoveryProvider {
  const table = { ...endpoints };
  return {
    source: options.source ?? 'static',
    allowEmpty: options.allowEmpty === true,
    watch(service: string, listener: DiscoveryListener) {
      listener.update(Object.hasOwn(table, service) ? (table[service] ?? []) : []);
      return () => {};
    },
    close() {},
  };
}

/** The schema of the `static` provider type's options. */
export const STATIC_DISCOVERY_OPTIONS_SCHEMA = Type.Object(
  {
    /** Endpoint lists by service name; each entry is checked by the registry on its own, as any provider's. */
    endpoints: Type.Record(Type.String(), Type.Array(Type.Unknown({ description: 'An endpoint: a URL, `{ url, ... }` or `{ address, port, ... }`.' })), {
      description: 'Endpoint lists by service name.',
    }),
    /** Apply an empty list as "no endpoints" instead of ignoring it. Default false. */
    allowEmpty: opt(bool('Apply an empty list as no endpoints.', false)),
  },
  { description: 'Options of the static provider type.', additionalProperties: false },
);

/** The `static` provider type: `{ type: 'static', endpoints: { orders: [...] }, allowEmpty? }`. */
export const staticDiscoveryType: DiscoveryProviderDefinition = {
  options: STATIC_DISCOVERY_OPTIONS_SCHEMA,
  create: (o) =>
    staticDiscovery(o.endpoints as Record<string, DiscoveredEndpoint[]>, {
      allowEmpty: o.allowEmpty === true,
    }),
};
