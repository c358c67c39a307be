import type { LoadBalancerDefinition } from './balancer.js';
import { leastRequest } from './least-request.js';
import { maglev } from './maglev.js';
import { peakEwma } from './peak-ewma.js';
import { random } from './random.js';
import { ringHash } from './ring-hash.js';
import { roundRobin } from './round-robin.js';
import { weightedRoundRobin } from './weighted-round-robin.js';

/** The built-in policies by name, registered by src/balancing/registry.ts when it loads. */
export const BUILTIN_BALANCERS: Readonly<Record<string, LoadBalancerDefinition<never>>> = Object.freeze({
  'round-robin': roundRobin,
  'weighted-round-robin': weightedRoundRobin,
  random,
  'least-request': leastRequest,
  'peak-ewma': peakEwma,
  'ring-hash': ringHash,
  maglev,
});
