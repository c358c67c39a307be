import { fileDiscoveryType } from './file.js';
import { getDiscoveryProvider, registerDiscoveryProvider, type DiscoveryProviderDefinition } from './provider.js';
import { staticDiscoveryType } from './static.js';

let registered = false;
const extra: [string, DiscoveryProviderDefinition][] = [];

/** Adds a built-in type to register with the others (used by modules loaded later, such as DNS). */
export function addBuiltinDiscovery(name: string, definition: DiscoveryProviderDefinition): void {
  extra.push([name, definition]);
  if (registered && !getDiscoveryProvider(name)) registerDiscoveryProvider(name, definition);
}

/**
 * Registers the built-in discovery provider types through the public
 * registry, once. A user's own registration of the same name wins.
 */
export function registerBuiltinDiscovery(): void {
  if (registered) return;
  registered = true;
  const builtins: [string, DiscoveryProviderDefinition][] = [['static', staticDiscoveryType], ['file', fileDiscoveryType], ...extra];
  for (const [name, definition] of builtins) if (!getDiscoveryProvider(name)) registerDiscoveryProvider(name, definition);
}
