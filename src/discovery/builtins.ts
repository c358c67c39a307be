import { dnsDiscoveryType } from './dns.js';
import { fileDiscoveryType } from './file.js';
import type { DiscoveryProviderDefinition } from './provider.js';
import { staticDiscoveryType } from './static.js';

/** The built-in discovery provider types by name, registered by src/discovery/provider-registry.ts when it loads. */
export const BUILTIN_DISCOVERY: Readonly<Record<string, DiscoveryProviderDefinition>> = Object.freeze({
  static: staticDiscoveryType,
  file: fileDiscoveryType,
  dns: dnsDiscoveryType,
});
