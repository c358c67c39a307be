import type { Endpoint } from '../endpoint/endpoint.js';
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

/** A named load-balancing policy, as registered with {@link registerLoadBalancer}. */
export interface LoadBalancerDefinition<Options extends object = Record<string, unknown>> {
  /** Builds a balancer for one service. `options` were validated by {@link LoadBalancerDefinition.validate}. */
  create(options: Options, env: BalancerEnvironment): LoadBalancer;
  /**
   * Checks the policy's options (everything but `policy`); returns the problems,
   * each with a path relative to the options object (e.g. `choiceCount`).
   */
  validate?(options: Record<string, unknown>): ConfigIssue[];
}
