import { getLoadBalancer, registerLoadBalancer } from './balancer.js';
import { random } from './random.js';
import { roundRobin } from './round-robin.js';

let registered = false;

/**
 * Registers the built-in policies through the public registry, once. Called
 * by the client; a user's own registration of the same name made before or
 * after wins, so built-ins never overwrite a user's choice.
 */
export function registerBuiltinBalancers(): void {
  if (registered) return;
  registered = true;
  const builtins = { 'round-robin': roundRobin, random };
  for (const [name, definition] of Object.entries(builtins)) {
    if (!getLoadBalancer(name)) registerLoadBalancer(name, definition);
  }
}
