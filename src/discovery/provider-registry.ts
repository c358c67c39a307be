import { isObjectSchema } from '../util/schema-options.js';
import { BUILTIN_DISCOVERY } from './builtins.js';
import type { DiscoveryProviderDefinition } from './provider.js';

/*
 * The named registry of discovery provider types. The built-ins (`static`,
 * `file`, `dns`) are registered below, when this module loads, through the
 * same public function a user calls; a user's registration of the same name,
 * made later, replaces the built-in. The registration lives in the module
 * that owns the registry, so it cannot be dropped by a bundler that keeps the
 * lookup (package.json says `"sideEffects": false`).
 */

const registry = new Map<string, DiscoveryProviderDefinition>();

/**
 * Registers a discovery provider type under `name`. Built-ins (`static`,
 * `file`, `dns`) are registered through this same function; registering an
 * existing name replaces it. Give the options a schema
 * ({@link DiscoveryProviderDefinition.options}) and the mesh checks them and
 * fills in their defaults.
 *
 * @example
 * ```ts
 * registerDiscoveryProvider('fixed', { create: (o) => staticDiscovery(o.endpoints as never) });
 * new MeshClient({ discovery: { type: 'fixed', endpoints: { orders: ['http://127.0.0.1:8080'] } } });
 * ```
 */
export function registerDiscoveryProvider(name: string, definition: DiscoveryProviderDefinition): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('discovery provider name must be a non-empty string');
  if (typeof definition?.create !== 'function') throw new TypeError('discovery provider definition needs a create function');
  if (definition.options !== undefined && !isObjectSchema(definition.options)) {
    throw new TypeError('discovery provider options must be a TypeBox object schema (Type.Object from @sinclair/typebox)');
  }
  registry.set(name, definition);
}

/** The definition registered under `name`, if any. */
export function getDiscoveryProvider(name: string): DiscoveryProviderDefinition | undefined {
  return registry.get(name);
}

/** The names of every registered discovery provider type. */
export function listDiscoveryProviders(): string[] {
  return [...registry.keys()];
}

for (const [name, definition] of Object.entries(BUILTIN_DISCOVERY)) registerDiscoveryProvider(name, definition);
