import { getLoadBalancer, registerLoadBalancer, type LoadBalancerDefinition } from './balancer.js';
import { leastRequest } from './least-request.js';
import { maglev } from './maglev.js';
import { peakEwma } from './peak-ewma.js';
import { random } from './random.js';
import { ringHash } from './ring-hash.js';
import { roundRobin } from './round-robin.js';
import { weightedRoundRobin } from './weighted-round-robin.js';

let registered = false;

/**
 * Registers the built-in policies through the public registry, once. Called
 * by the client; a user's own registration of the same name made before or
 * after wins, so built-ins never overwrite a user's choice.
 */
export function registerBuiltinBalancers(): void {
  if (registered) return;
  registered = true;
  const builtins: Record<string, LoadBalancerDefinition<never>> = {
    'round-robin': roundRobin,
    'weighted-round-robin': weightedRoundRobin,
    random,
    'least-request': leastRequest,
    'peak-ewma': peakEwma,
    'ring-hash': ringHash,
    maglev,
  };
  for (const [name, definition] of Object.entries(builtins)) {
    if (!getLoadBalancer(name)) registerLoadBalancer(name, definition);
  }
}
