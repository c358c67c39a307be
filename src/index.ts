/**
 * proxyless: an embeddable, client-side service mesh for Node.js.
 *
 * @packageDocumentation
 * @module proxyless
 */
export {
  MeshClient,
  DEFAULT_CLOSE_TIMEOUT_MS,
  type CloseOptions,
  type MeshRequestOptions,
  type MeshSnapshot,
  type ServiceSnapshot,
  type RequestPolicyOverrides,
} from './client/mesh-client.js';
export { MeshDispatcher } from './client/mesh-dispatcher.js';
export type { MeshFetch } from './client/fetch.js';
export { BorrowedDispatcher } from './client/borrowed-dispatcher.js';
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
  LoadBalancerChoice,
  SharedServiceOptions,
  ResilienceOptions,
  RetryOptions,
  RetryCondition,
  BackoffOptions,
  RetryBudgetOptions,
  TimeoutOptions,
  CircuitBreakerOptions,
  CircuitBreakerSettings,
  OutlierDetectionOptions,
  SuccessRateEjectionOptions,
  FailurePercentageEjectionOptions,
  BulkheadOptions,
  HedgeOptions,
} from './config/types.js';
export type {
  Route,
  RouteMatch,
  SplitDestination,
  SlowStartOptions,
} from './config/types.js';
export type {
  PathMatch,
  StringMatch,
} from './routing/types.js';
export type { Endpoint, EndpointInput } from './endpoint/endpoint.js';
export type { FaultSpec, FaultError } from './faults/spec.js';
export {
  fileConfigSource,
  type ConfigSource,
  type ConfigSourceListener,
  type ConfigSourceEnvironment,
  type FileConfigSourceOptions,
} from './config/source.js';
export {
  registerLoadBalancer,
  getLoadBalancer,
  listLoadBalancers,
} from './balancing/registry.js';
export {
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
  EndpointHealthEvent,
  EndpointHealthEventType,
  CircuitHealthEvent,
  PanicHealthEvent,
  DiscoveryHealthEvent,
  HealthEventInput,
  HealthEventDetails,
  SecurityHealthEvent,
  MetricEvent,
  MetricEventType,
  RetryRefusedMetricEvent,
  RequestEventBase,
  DiscoveryUpdateMetricEvent,
  DiscoveryErrorMetricEvent,
  ConfigAppliedEvent,
  ConfigRejectedEvent,
  RequestMetricEvent,
  RequestOutcome,
  AttemptMetricEvent,
  RetryMetricEvent,
  RetryBudgetExhaustedMetricEvent,
  HedgeMetricEvent,
  RejectedMetricEvent,
  ConfigEvent,
  MeshEventBase,
} from './telemetry/events.js';
export type { TelemetryOptions } from './telemetry/options.js';
export type { TelemetrySnapshot } from './telemetry/telemetry.js';
export { INSTRUMENTATION_SCOPE, type SpanMode } from './telemetry/otel-tracing.js';
export { HTTP_DURATION_BUCKETS, CIRCUIT_STATE } from './telemetry/otel-metrics.js';
export type { Logger } from './util/logger.js';
export type { Clock, TimerHandle } from './util/clock.js';
export type {
  TlsOptions,
  TlsWatchOptions,
  IdentityOptions,
  EgressOption,
  EgressPolicy,
} from './config/types.js';
export type {
  TlsSource,
  TlsMaterialUpdate,
  AuthHook,
  AuthHeaders,
  AuthResult,
} from './security/types.js';
export {
  parseSpiffeId,
  checkPeerIdentity,
  type SpiffeId,
  type IdentityPolicy,
  type IdentityVerdict,
} from './security/spiffe.js';
export {
  registerDiscoveryProvider,
  getDiscoveryProvider,
  listDiscoveryProviders,
} from './discovery/provider-registry.js';
export {
  type DiscoveryProvider,
  type DiscoveryProviderDefinition,
  type DiscoveryListener,
  type DiscoveryEnvironment,
  type DiscoveredEndpoint,
  type DiscoveredEntry,
} from './discovery/provider.js';
export type { DiscoveryOption, DiscoverySpec } from './discovery/config.js';
export type { DiscoverySourceStatus, ServiceDiscoveryStatus } from './discovery/registry.js';
export { staticDiscovery, type StaticDiscoveryOptions } from './discovery/static.js';
export { fileDiscovery, type FileDiscoveryOptions } from './discovery/file.js';
export type {
  HealthCheckOptions,
} from './config/types.js';
export type {
  HealthCheckFunction,
  HealthCheckTarget,
} from './health/options.js';
export type { MeshHealth, ServiceHealth, DownEndpoint } from './health/report.js';
export type { EndpointCheckStatus } from './health/checker.js';
export type { DownReason } from './endpoint/live-endpoint.js';
export { dnsDiscovery, type DnsDiscoveryOptions, type DnsResolver, type DnsAddress, type DnsSrvRecord } from './discovery/dns.js';
export { RoundRobinBalancer } from './balancing/round-robin.js';
export { RandomBalancer } from './balancing/random.js';
export { WeightedRoundRobinBalancer } from './balancing/weighted-round-robin.js';
export {
  LeastRequestBalancer,
  ChoiceBalancer,
  LEAST_REQUEST_DEFAULTS,
  LEAST_REQUEST_OPTIONS_SCHEMA,
  type LeastRequestOptions,
} from './balancing/least-request.js';
export { PeakEwmaBalancer, PEAK_EWMA_DEFAULTS, PEAK_EWMA_OPTIONS_SCHEMA, type PeakEwmaOptions } from './balancing/peak-ewma.js';
export { RingHashBalancer, RING_HASH_DEFAULTS, RING_HASH_OPTIONS_SCHEMA, type RingHashOptions } from './balancing/ring-hash.js';
export { MaglevBalancer, MAGLEV_DEFAULTS, MAGLEV_OPTIONS_SCHEMA, type MaglevOptions } from './balancing/maglev.js';
export { RequestHasher, HASH_ON_SCHEMA, type HashOn } from './balancing/hash-key.js';
export { WeightedSampler } from './balancing/sampler.js';
