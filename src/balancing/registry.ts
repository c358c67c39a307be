import type { ConfigIssue } from '../errors/mesh-error.js';
import { checkedOptions, isObjectSchema } from '../util/schema-options.js';
import type { LoadBalancerDefinition } from './balancer.js';
import { BUILTIN_BALANCERS } from './builtins.js';

/*
 * The named registry of load-balancing policies. The built-ins are registered
 * below, when this module loads, through the same public function a user
 * calls: whoever can look a policy up (the config resolver, the client,
 * `listLoadBalancers()` right after `import 'proxyless'`) sees them, and a
 * user's registration of the same name, made later, replaces the built-in.
 * The registration lives in the module that owns the registry, so a bundler
 * that keeps the lookup keeps the registration too (package.json says
 * `"sideEffects": false`: a module imported only for its side effects could
 * be dropped).
 */

const registry = new Map<string, LoadBalancerDefinition<never>>();

/**
 * Registers a load-balancing policy under `name`, so configurations can say
 * `loadBalancer: name` or `{ policy: name, ...options }`. Built-in policies are
 * registered through this same function. Registering an existing name
 * replaces it. Give the options a schema
 * ({@link LoadBalancerDefinition.options}) and the mesh checks them and
 * fills in their defaults.
 *
 * @example
 * ```ts
 * registerLoadBalancer('first', { create: () => {
 *   let list: readonly BalancerEndpoint[] = [];
 *   return { update: (e) => { list = e; }, pick: () => list[0] };
 * } });
 * ```
 */
export function registerLoadBalancer<Options extends object>(
  name: string,
  definition: LoadBalancerDefinition<Options>,
): void {
  if (typeof name !== 'string' || name === '') throw new TypeError('load balancer name must be a non-empty string');
  if (typeof definition?.create !== 'function') throw new TypeError('load balancer definition needs a create function');
  if (definition.options !== undefined && !isObjectSchema(definition.options)) {
    throw new TypeError('load balancer options must be a TypeBox object schema (Type.Object from @sinclair/typebox)');
  }
  registry.set(name, definition as unknown as LoadBalancerDefinition<never>);
}

/** The definition registered under `name`, if any. */
export function getLoadBalancer(name: string): LoadBalancerDefinition<Record<string, unknown>> | undefined {
  return registry.get(name) as LoadBalancerDefinition<Record<string, unknown>> | undefined;
}

/**
 * Checks a policy's options (everything beside `policy`) against its
 * definition, with paths under `path` (`services.orders.loadBalancer`), and
 * returns them with the schema's defaults filled in.
 */
export function checkLoadBalancerOptions(
  definition: LoadBalancerDefinition<Record<string, unknown>>,
  options: Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
): Record<string, unknown> {
  return checkedOptions(definition, options, path, issues);
}

/** The names of every registered policy. */
export function listLoadBalancers(): string[] {
  return [...registry.keys()];
}

for (const [name, definition] of Object.entries(BUILTIN_BALANCERS)) registerLoadBalancer(name, definition);
