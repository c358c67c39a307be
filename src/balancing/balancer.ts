import type { Endpoint } from '../endpoint/endpoint.js';
import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from '../errors/mesh-error.js';

/**
 * An endpoint as a load balancer sees it: the endpoint's attributes plus live
 * counters kept by the mesh. The same object stands for the same endpoint for
 * as long as the endpoint exists, so a balancer may key its own state on it.
 */
export interface BalancerEndpoint extends Endpoint {
  /** Attempts sent to this endpoint that have not finished yet. */
  readonly inflight: number;
}

/** What a balancer may know of the request it picks for. */
export interface PickRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Path with query string, as sent. */
  readonly path: string;
  /** A request header by lower-case name (the first value when repeated). */
  header(name: string): string | undefined;
}

/** Everything a balancer gets for one pick. */
export interface PickContext {
  /** The request being balanced. */
  readonly request: PickRequest;
  /**
   * Endpoints this request already tried. A balancer should not pick them
   * when it has another choice; the mesh falls back to picking without this
   * set when every endpoint was tried.
   */
  readonly tried: ReadonlySet<BalancerEndpoint> | undefined;
}

/** Feedback about one finished attempt to an endpoint the balancer picked. */
export interface AttemptReport {
  /** Time from sending to the response headers (or the failure), in milliseconds. */
  readonly durationMs: number;
  /** False for transport failures and 5xx responses. */
  readonly ok: boolean;
}

/**
 * A load balancer for one service. The mesh calls {@link LoadBalancer.update}
 * from the control side whenever the set of usable endpoints changes, and
 * {@link LoadBalancer.pick} on the request path. `pick` must be fast and must
 * not allocate much: it runs once per attempt.
 */
export interface LoadBalancer {
  /** The usable endpoints changed (never called with an empty list is *not* guaranteed). */
  update(endpoints: readonly BalancerEndpoint[]): void;
  /** Chooses an endpoint for one attempt, or `undefined` when none is eligible. */
  pick(context: PickContext): BalancerEndpoint | undefined;
  /** Optional latency and success feedback for load-aware policies. */
  report?(endpoint: BalancerEndpoint, report: AttemptReport): void;
}

/** What the mesh gives a balancer factory besides the policy options. */
export interface BalancerEnvironment {
  /** The service the balancer serves. */
  readonly service: string;
  /** A random source in [0, 1); seeded in tests. Use it instead of `Math.random`. */
  readonly random: () => number;
  /** A monotonic clock in milliseconds. */
  readonly now: () => number;
}

/**
 * A named load-balancing policy, as registered with {@link registerLoadBalancer}.
 *
 * Describe the options (everything beside `policy`) with
 * {@link LoadBalancerDefinition.options}, a TypeBox object schema: the mesh
 * checks a configuration against it (each problem named by its full path,
 * e.g. `services.orders.loadBalancer.tableSize`), fills in its `default`s
 * and hands the result to {@link LoadBalancerDefinition.create}. Keep
 * {@link LoadBalancerDefinition.validate} for rules a schema cannot say.
 *
 * @example
 * ```ts
 * import { Type } from '@sinclair/typebox';
 * registerLoadBalancer<{ spread: number }>('spread', {
 *   options: Type.Object({ spread: Type.Integer({ minimum: 1, default: 2 }) }, { additionalProperties: false }),
 *   create: (options) => new SpreadBalancer(options.spread),
 * });
 * ```
 */
export interface LoadBalancerDefinition<Options extends object = Record<string, unknown>> {
  /**
   * Builds a balancer for one service. From a configuration, `options` passed
   * {@link LoadBalancerDefinition.options} and have its defaults filled in.
   */
  create(options: Options, env: BalancerEnvironment): LoadBalancer;
  /**
   * The schema of the policy's options, a TypeBox object schema
   * (`Type.Object({...}, { additionalProperties: false })`, from
   * `@sinclair/typebox`, a dependency of proxyless): bounds, required
   * options and defaults (`default:`) in one place. Prefer it to
   * {@link LoadBalancerDefinition.validate}. Without it any options are
   * accepted and passed through as given.
   */
  readonly options?: TSchema;
  /**
   * Rules a schema cannot say (one option against another, a prime table
   * size); returns the problems, each with a path relative to the options
   * object (e.g. `minRingSize`). It sees the options with the schema's
   * defaults filled in, and runs even when the schema found problems
   * elsewhere, so check the type of a value before comparing it; an issue
   * about a path the schema already reported is dropped. A definition
   * without {@link LoadBalancerDefinition.options} may check everything
   * here, as before schemas existed.
   */
  validate?(options: Record<string, unknown>): ConfigIssue[];
}
