import type { DiscoveredEndpoint, DiscoveryListener, DiscoveryProvider, DiscoveryProviderDefinition } from './provider.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { describe } from '../util/describe.js';

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

/** The `static` provider type: `{ type: 'static', endpoints: { orders: [...] }, allowEmpty? }`. */
export const staticDiscoveryType: DiscoveryProviderDefinition = {
  create: (o) =>
    staticDiscovery(o.endpoints as Record<string, DiscoveredEndpoint[]>, {
      allowEmpty: o.allowEmpty === true,
    }),
  validate(o) {
    const issues: ConfigIssue[] = [];
    for (const k of Object.keys(o)) {
      if (k !== 'endpoints' && k !== 'allowEmpty') issues.push({ path: k, message: `unknown option "${k}" (expected endpoints, allowEmpty)` });
    }
    if (typeof o.endpoints !== 'object' || o.endpoints === null || Array.isArray(o.endpoints)) {
      issues.push({ path: 'endpoints', message: `expected an object of endpoint arrays by service, found ${describe(o.endpoints)}` });
    } else {
      for (const [name, list] of Object.entries(o.endpoints)) {
        if (!Array.isArray(list)) issues.push({ path: `endpoints.${name}`, message: `expected an array, found ${describe(list)}` });
      }
    }
    if (o.allowEmpty !== undefined && typeof o.allowEmpty !== 'boolean') {
      issues.push({ path: 'allowEmpty', message: `expected a boolean, found ${describe(o.allowEmpty)}` });
    }
    return issues;
  },
};
