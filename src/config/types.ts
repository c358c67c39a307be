/**
 * The public option types of the configuration. Every type here (and the
 * faults spec in src/faults/) is the static type of a schema in
 * src/config/schema.ts, the one definition from which the runtime validation
 * and the published JSON Schema also come. Types that code gives (hooks,
 * providers, observers) live with the feature that calls them.
 */
import type { Static } from '@sinclair/typebox';
import type { Dispatcher } from 'undici';
import type { Observer } from '../telemetry/events.js';
import type { TelemetryOptions } from '../telemetry/options.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import type * as S from './schema.js';
import type { LoadBalancerChoice } from './schema.js';

export type { LoadBalancerChoice } from './schema.js';

/**
 * The load-balancing policy of a service: a registered policy name, or an
 * object with `policy` and that policy's options.
 */
export type LoadBalancerOption = string | LoadBalancerChoice;

/** Connection settings for the pool of each endpoint. */
export interface ConnectionOptions extends Static<typeof S.CONNECTION_SCHEMA> {}

/** Settings a service can set, and `defaults` can set for every service. */
export interface SharedServiceOptions extends Static<typeof S.SHARED_SERVICE_SCHEMA> {}

/** The configuration of one service. */
export interface ServiceOptions extends Static<typeof S.SERVICE_SCHEMA> {}

/** Settings applied to every service unless the service sets its own. */
export type DefaultsOptions = SharedServiceOptions;

/**
 * The configuration of a {@link MeshClient}: everything `updateConfig` can
 * change. Defined by the schema in src/config/schema.ts, which is also
 * published as `proxyless/schema.json`.
 */
export interface MeshConfig extends Static<typeof S.MESH_CONFIG_SCHEMA> {}

/** Options of `new MeshClient(options)`: the {@link MeshConfig} plus process-level hooks. */
export interface MeshClientOptions extends MeshConfig {
  /** Receivers of every health, metric and config event. */
  observers?: Observer[];
  /** A pino-style logger. Default: silent, except through `NODE_DEBUG=proxyless`. */
  logger?: Logger;
  /** A random source in [0, 1) for balancers and jitter. Default `Math.random`; seed it in tests. */
  random?: () => number;
  /** The clock for timers and durations. Default: the real one. */
  clock?: Clock;
  /** OpenTelemetry tracing and metrics; see {@link TelemetryOptions}. No-op until an SDK is installed. */
  telemetry?: TelemetryOptions;
  /**
   * Replaces the transport: called once per endpoint origin (and per egress
   * origin) to get the undici Dispatcher that carries its requests, e.g. a
   * `MockAgent`'s pool in tests. Dispatchers it returns are not closed by the
   * mesh. Default: one undici `Pool` per endpoint, one `Agent` for egress.
   */
  transport?: (origin: string) => Dispatcher;
}

// ---- resilience (the types are in src/resilience/schema.ts) ----

export type {
  RetryCondition,
  BackoffOptions,
  RetryBudgetOptions,
  RetryOptions,
  TimeoutOptions,
  CircuitBreakerSettings,
  CircuitBreakerOptions,
  SuccessRateEjectionOptions,
  FailurePercentageEjectionOptions,
  OutlierDetectionOptions,
  BulkheadOptions,
  HedgeOptions,
  ResilienceOptions,
} from '../resilience/schema.js';

// ---- routing (the behaviour is in src/routing/) ----

/** The conditions of a route; all given conditions must hold. An empty match matches every request. */
export interface RouteMatch extends Static<typeof S.ROUTE_MATCH_SCHEMA> {}

/**
 * One weighted destination of a route: a subset of this service's endpoints
 * chosen by labels, another service, or (with neither) the whole service.
 */
export interface SplitDestination extends Static<typeof S.SPLIT_DESTINATION_SCHEMA> {}

/** A routing rule of a service: the first route whose `match` holds decides where a request goes. */
export interface Route extends Static<typeof S.ROUTE_SCHEMA> {}

/** Ramp-up of the weight of newly added endpoints, so a cold instance is not flooded. */
export interface SlowStartOptions extends Static<typeof S.SLOW_START_SCHEMA> {}

// ---- security (the behaviour is in src/security/) ----

/**
 * Who the servers of a service must be, by workload identity (SPIFFE). The
 * server certificate must carry exactly one URI SAN, a SPIFFE ID that is in
 * `trustDomain` (when set) and in `allow` (when set). At least one of the two
 * is required. With an identity, the SPIFFE check replaces host-name
 * verification (as SPIFFE prescribes); the chain is still verified against
 * {@link TlsOptions.ca}.
 */
export interface IdentityOptions extends Static<typeof S.IDENTITY_SCHEMA> {}

/** How certificate files are watched for rotation. */
export interface TlsWatchOptions extends Static<typeof S.TLS_WATCH_SCHEMA> {}

/**
 * TLS settings of a service, used for every `https://` endpoint connection.
 * With `cert` and `key` the client presents a certificate (mTLS).
 */
export interface TlsOptions extends Static<typeof S.TLS_SCHEMA> {}

/**
 * The egress policy with an allow-list: hosts that are not services are
 * refused, except those listed. A pattern is a host name (`api.stripe.com`),
 * an IP address, or `*.example.org`, which matches any name below
 * `example.org` (not `example.org` itself).
 */
export interface EgressPolicy extends Static<typeof S.EGRESS_POLICY_SCHEMA> {}

/** The `egress` option: `'allow'`, `'deny'`, or `'deny'` with an allow-list ({@link EgressPolicy}). */
export type EgressOption = 'allow' | 'deny' | EgressPolicy;

// ---- health checking (the behaviour is in src/health/) ----

/** Active health checking of a service's endpoints. */
export interface HealthCheckOptions extends Static<typeof S.HEALTH_CHECK_SCHEMA> {}
