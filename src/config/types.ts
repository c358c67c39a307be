import type { EndpointInput } from '../discovery/endpoint.js';
import type { Observer } from '../telemetry/events.js';
import type { TelemetryOptions } from '../telemetry/options.js';
import type { Logger } from '../util/logger.js';
import type { Clock } from '../util/clock.js';

/**
 * The load-balancing policy of a service: a registered policy name, or an
 * object with `policy` and that policy's options.
 */
export type LoadBalancerOption = string | ({ policy: string } & Record<string, unknown>);

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

/** The configuration of one service. */
export interface ServiceOptions {
  /** The service's endpoints. Default: none (every request fails with `MESH_NO_HEALTHY_ENDPOINT`). */
  endpoints?: EndpointInput[];
  /** The load-balancing policy. Default `'round-robin'`. */
  loadBalancer?: LoadBalancerOption;
  /** Pool settings for each endpoint. */
  connection?: ConnectionOptions;
}

/** Settings applied to every service unless the service sets its own. */
export interface DefaultsOptions {
  /** Default policy for services that set none. Default `'round-robin'`. */
  loadBalancer?: LoadBalancerOption;
  /** Default pool settings. */
  connection?: ConnectionOptions;
}

/** The configuration of a {@link MeshClient}: everything `updateConfig` can change. */
export interface MeshConfig {
  /** The services, by name. The URL host `http://orders/...` names the service `orders`. */
  services?: Record<string, ServiceOptions>;
  /** Settings every service inherits. */
  defaults?: DefaultsOptions;
  /**
   * What to do with a URL whose host is not a service: `'allow'` (default)
   * sends it directly to that host, still observed; `'deny'` refuses it with
   * `MESH_UNKNOWN_SERVICE`.
   */
  egress?: 'allow' | 'deny';
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
}
