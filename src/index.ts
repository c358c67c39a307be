/**
 * meshlet: an embeddable, client-side service mesh for Node.js.
 *
 * @packageDocumentation
 */
export { MeshClient, type MeshRequestOptions, type MeshSnapshot } from './client/mesh-client.js';
export { MeshDispatcher } from './client/mesh-dispatcher.js';
export {
  MeshError,
  MeshConfigError,
  isMeshError,
  isMeshConfigError,
  type ConfigIssue,
  type MeshErrorDetails,
} from './errors/mesh-error.js';
export { MeshErrorCodes, type MeshErrorCode } from './errors/codes.js';
export type {
  MeshConfig,
  MeshClientOptions,
  ServiceOptions,
  DefaultsOptions,
  ConnectionOptions,
  LoadBalancerOption,
} from './config/types.js';
export type { Endpoint, EndpointInput } from './discovery/endpoint.js';
export {
  registerLoadBalancer,
  getLoadBalancer,
  listLoadBalancers,
  type LoadBalancer,
  type LoadBalancerDefinition,
  type BalancerEndpoint,
  type BalancerEnvironment,
  type PickContext,
  type PickRequest,
  type AttemptReport,
} from './balancing/balancer.js';
export type {
  MeshEvents,
  Observer,
  HealthEvent,
  HealthEventType,
  MetricEvent,
  RequestMetricEvent,
  AttemptMetricEvent,
  RetryMetricEvent,
  RetryBudgetExhaustedMetricEvent,
  HedgeMetricEvent,
  RejectedMetricEvent,
  ConfigEvent,
  MeshEventBase,
} from './telemetry/events.js';
export type { Logger } from './util/logger.js';
export type { Clock, TimerHandle } from './util/clock.js';
export { RoundRobinBalancer } from './balancing/round-robin.js';
export { RandomBalancer } from './balancing/random.js';
export { WeightedRoundRobinBalancer } from './balancing/weighted-round-robin.js';
export {
  LeastRequestBalancer,
  ChoiceBalancer,
  LEAST_REQUEST_DEFAULTS,
  type LeastRequestOptions,
} from './balancing/least-request.js';
export { PeakEwmaBalancer, PEAK_EWMA_DEFAULTS, type PeakEwmaOptions } from './balancing/peak-ewma.js';
export { RingHashBalancer, RING_HASH_DEFAULTS, type RingHashOptions } from './balancing/ring-hash.js';
export { MaglevBalancer, MAGLEV_DEFAULTS, type MaglevOptions } from './balancing/maglev.js';
export { RequestHasher, type HashOn } from './balancing/hash-key.js';
export { WeightedSampler } from './balancing/sampler.js';
