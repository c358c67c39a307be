import { dnsDiscoveryType } from './dns.js';
import { fileDiscoveryType } from './file.js';
import { getDiscoveryProvider, registerDiscoveryProvider, type DiscoveryProviderDefinition } from './provider.js';
import { staticDiscoveryType } from './static.js';

let registered = false;

/**
 * Registers the built-in discovery provider types (`static`, `file`, `dns`)
 * through the public registry, once. A user's own registration of the same
 * name wins.
 */
export function registerBuiltinDiscovery(): void {
  if (registered) return;
  registered = true;
  const builtins: [string, DiscoveryProviderDefinition][] = [
    ['static', staticDiscoveryType],
    ['file', fileDiscoveryType],
    ['dns', dnsDiscoveryType],
  ];
  for (const [name, definition] of builtins) if (!getDiscoveryProvider(name)) registerDiscoveryProvider(name, definition);
}
