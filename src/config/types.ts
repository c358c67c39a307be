import type { Dispatcher } from 'undici';
import type { EndpointInput } from '../discovery/endpoint.js';
import type { Observer } from '../telemetry/events.js';
import type { TelemetryOptions } from '../telemetry/options.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';
import type { Route, SlowStartOptions } from '../routing/types.js';
import type { AuthHook, EgressOption, TlsOptions } from '../security/types.js';

/**
 * The load-balancing policy of a service: a registered policy name, or an
 * object with `policy` and that policy's options.
 */
export type LoadBalancerOption = string | LoadBalancerChoice;

/** A load-balancing policy by name, with that policy's options beside it. */
export interface LoadBalancerChoice {
  /** A registered policy name, e.g. `'least-request'`. */
  policy: string;
  /** The policy's own options, e.g. `choiceCount`. */
  [option: string]: unknown;
}

/** Connection settings for the pool of each endpoint. */
export interface ConnectionOptions {
  /** Most sockets per endpoint. Default 64. */
  maxConnections?: number;
  /** Requests pipelined per socket. Default 1 (no pipelining). */
  pipelining?: number;
  /** Time to establish a connection, in milliseconds. Default 10,000. */
  connectTimeoutMs?: number;
  /** How long an idle socket is kept, in milliseconds. Default 4,000 (undici's default). */
  keepAliveTimeoutMs?: number;
}

/** Settings a service can set, and `defaults` can set for every service. */
export interface SharedServiceOptions {
  /** The load-balancing policy. Default `'round-robin'`. */
  loadBalancer?: LoadBalancerOption;
  /** Pool settings for each endpoint. */
  connection?: ConnectionOptions;
  /**
   * Envoy's overprovisioning factor for priority and locality spill-over: a
   * level whose healthy share times this factor is at least 100% keeps all its
   * traffic. Default 1.4.
   */
  overprovisioningFactor?: number;
  /**
   * Panic threshold in percent: when fewer endpoints than this (after the
   * overprovisioning factor) are usable, use all endpoints rather than
   * overload the few. 0 disables. Default 50.
   */
  panicThreshold?: number;
  /** Ramp the weight of newly added endpoints over a window. Default off. */
  slowStart?: SlowStartOptions | false;
  /**
   * TLS and mTLS for `https://` endpoints; a service's settings are merged
   * field by field over `defaults.tls`, and `false` turns the defaults off.
   * See docs/security.md.
   */
  tls?: TlsOptions | false;
  /** Refuse plaintext (`http://`) endpoints. Default `false`; implied by `tls.identity`. */
  requireTls?: boolean;
}

/** The configuration of one service. */
export interface ServiceOptions extends SharedServiceOptions {
  /** The service's endpoints. Default: none (every request fails with `MESH_NO_HEALTHY_ENDPOINT`). */
  endpoints?: EndpointInput[];
  /** Routing rules, first match wins; no match sends to the whole service. */
  routes?: Route[];
  /** Overrides the client's `localZone` for this service. */
  localZone?: string;
  /** A credential hook whose headers are added to every request to this service (cached until expiry). */
  auth?: AuthHook;
}

/** Settings applied to every service unless the service sets its own. */
export type DefaultsOptions = SharedServiceOptions;

/** The configuration of a {@link MeshClient}: everything `updateConfig` can change. */
export interface MeshConfig {
  /** The services, by name. The URL host `http://orders/...` names the service `orders`. */
  services?: Record<string, ServiceOptions>;
  /** Settings every service inherits. */
  defaults?: DefaultsOptions;
  /**
   * What to do with a URL whose host is not a service: `'allow'` (default)
   * sends it directly to that host, still observed; `'deny'` refuses it with
   * `MESH_UNKNOWN_SERVICE`; `{ mode: 'deny', allow: ['api.stripe.com', '*.example.org'] }`
   * refuses all but the listed hosts.
   */
  egress?: EgressOption;
  /** The zone this process runs in: traffic prefers endpoints with the same `zone`. */
  localZone?: string;
}

/** Options of `new MeshClient(options)`: the {@link MeshConfig} plus process-level hooks. */
export interface MeshClientOptions extends MeshConfig {
  /** Receivers of every health, metric and config event. */
  observers?: Observer[];
  /** A pino-style logger. Default: silent, except through `NODE_DEBUG=meshlet`. */
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
