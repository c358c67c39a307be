/**
 * The one definition of proxyless's configuration, written with TypeBox
 * (`@sinclair/typebox`). From it come:
 * - the TypeScript option types (`Static<typeof ...>`, re-exported under their
 *   public names from src/config/types.ts and the feature modules);
 * - the structural validation (`schemaIssues` in src/util/schema-issues.ts runs
 *   TypeBox's compiled checker over every input and turns its errors into
 *   {@link ConfigIssue}s with a path, what was expected and what was found);
 * - the published JSON Schema (`proxyless/schema.json`, written by
 *   `npm run build` from {@link publishedSchema}) and the reference tables of
 *   docs/configuration.md.
 *
 * A schema may carry `expects`, the words an error message uses for what it
 * takes (`a path starting with "/"`) where the generated words would be
 * clumsy, and a record `keyExpects`, the same for its keys; neither is
 * written to the published schema.
 *
 * What JSON cannot hold (credential hooks, health-check functions, discovery
 * provider objects, PEM Buffers) is declared here too, as {@link code} schemas:
 * validated in code, left out of the published JSON Schema.
 *
 * What a schema cannot say (split weights summing to more than 0, `perTryMs`
 * at most `totalMs`, subsets matching no endpoint, unknown services in a
 * split, duplicate endpoints, regular expressions that do not compile) is
 * checked by the resolvers in src/config/resolve.ts after this schema.
 *
 * A load balancer's options (`{ policy, ...options }`) and a discovery
 * spec's (`{ type, ...options }`) belong to whatever is registered under
 * that name when the configuration is read (a user may register a policy,
 * or replace a built-in): here they are open objects, and the registry
 * checks them against the registered definition's own schema
 * (`LoadBalancerDefinition.options`, `DiscoveryProviderDefinition.options`).
 * The published JSON Schema spells out the built-ins: one object per
 * built-in, told apart by its `policy` or `type`, plus an open object for
 * names registered in code.
 */

import { Kind, Type, TypeRegistry, type Static, type TUnsafe } from '@sinclair/typebox';
import type { Dispatcher } from 'undici';
import { FAULT_SPEC_SCHEMA } from '../faults/spec.js';
import { BUILTIN_BALANCERS } from '../balancing/builtins.js';
import { BUILTIN_DISCOVERY } from '../discovery/builtins.js';
import type { DiscoverySpec } from '../discovery/config.js';
import { isDiscoveryProvider, type DiscoveryProvider } from '../discovery/provider.js';
import type { HealthCheckFunction } from '../health/options.js';
import type { AuthHook } from '../security/types.js';
import { toJsonSchema, namedChoices, PUBLISHED_AS, type JsonSchema } from '../util/json-schema.js';
import { CODE_KIND, bool, described, int, num, oneOf, opt, orFalse, percent, str, strings, type CodeValue } from '../util/schema-blocks.js';

// ---- values only code can give ----

const CODE_CHECKS: Record<CodeValue, (value: unknown) => boolean> = {
  function: (v) => typeof v === 'function',
  buffer: (v) => v instanceof Uint8Array,
  provider: isDiscoveryProvider,
};
if (!TypeRegistry.Has(CODE_KIND)) {
  TypeRegistry.Set<{ code: CodeValue }>(CODE_KIND, (schema, value) => CODE_CHECKS[schema.code](value));
}

/** A value only code can give, typed `T`: checked at runtime, left out of the published JSON Schema. */
function code<T>(what: CodeValue, description: string): TUnsafe<T> {
  return Type.Unsafe<T>({ [Kind]: CODE_KIND, code: what, description });
}

// ---- fault injection (the fragment is in src/faults/spec.ts) ----

export { FAULT_ERROR_NAMES, FAULT_ERROR_SCHEMA, FAULT_SPEC_SCHEMA } from '../faults/spec.js';

const FAULTS = orFalse(FAULT_SPEC_SCHEMA);

// ---- security ----

/** Certificate or key material: PEM text (or a Buffer, in code), or `{ file }`. */
export const TLS_SOURCE_SCHEMA = Type.Union(
  [
    Type.String({ description: 'PEM text.' }),
    code<Buffer>('buffer', 'PEM bytes (code only).'),
    Type.Object(
      {
        /** Path of a PEM file. */
        file: str('Path of a PEM file (read, and watched for rotation).'),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'PEM text, or `{ file }` to read (and watch) a file.' },
);

/** `tls.identity`: the SPIFFE identity servers must prove. */
export const IDENTITY_SCHEMA = Type.Object(
  {
    /** Accept only IDs of this trust domain, e.g. `example.org`. */
    trustDomain: opt(str('Accept only IDs of this trust domain, e.g. `example.org`.')),
    /** Accept only these SPIFFE IDs, e.g. `spiffe://example.org/ns/prod/sa/orders`. */
    allow: opt(Type.Array(str('A SPIFFE ID.'), { description: 'Accept only these SPIFFE IDs.' })),
  },
  { description: 'SPIFFE identity the servers must prove (implies requireTls; needs ca).', additionalProperties: false },
);

/** `tls.watch` as an object. */
export const TLS_WATCH_SCHEMA = Type.Object(
  {
    /** Wait this long after a change event before reloading, in ms (files are often written in steps). Default 100. */
    debounceMs: opt(int('Wait this long after a change before reloading, ms. Default 100.', 0)),
    /** Re-read the files this often, in ms, whatever `fs.watch` says (it misses events on some file systems). Default 5000. */
    pollMs: opt(int('Re-read the files this often, ms. Default 5,000.', 0)),
  },
  { description: 'How certificate files are watched.', additionalProperties: false },
);

/** `tls`: TLS and mTLS for `https://` endpoints. */
export const TLS_SCHEMA = Type.Object(
  {
    /** Trusted CA certificates (PEM bundle). Default: Node's root certificates. */
    ca: opt(TLS_SOURCE_SCHEMA),
    /** The client certificate chain (PEM), for mTLS. Requires `key`. */
    cert: opt(TLS_SOURCE_SCHEMA),
    /** The private key of `cert` (PEM). Requires `cert`. */
    key: opt(TLS_SOURCE_SCHEMA),
    /**
     * The name sent in SNI and, without an identity, checked against the
     * server certificate. Default: the endpoint's host name (none for an IP
     * address, whose certificate must then list that IP).
     */
    servername: opt(str('SNI and the name checked in the certificate. Default: the endpoint host.')),
    /** Lowest TLS version accepted. Default `'TLSv1.2'`. */
    minVersion: opt(oneOf("Lowest TLS version. Default 'TLSv1.2'.", ['TLSv1.2', 'TLSv1.3'])),
    /** Workload identity the servers must prove; see {@link IdentityOptions}. Implies `requireTls`; needs `ca`. */
    identity: opt(IDENTITY_SCHEMA),
    /**
     * Watch `{ file }` sources and rotate to new material when they change.
     * Default `true` when any source is a file; `false` turns it off.
     */
    watch: opt(Type.Union([Type.Boolean(), TLS_WATCH_SCHEMA], { description: 'Reload `{ file }` material when files change. Default true when a source is a file.' })),
  },
  { description: 'TLS and mTLS for `https://` endpoints. See docs/security.md.', additionalProperties: false },
);

/** `egress` with an allow-list. */
export const EGRESS_POLICY_SCHEMA = Type.Object(
  {
    /** Only `'deny'` (the default): everything not listed is refused. */
    mode: opt(Type.Literal('deny', { description: "Only 'deny': everything not listed is refused." })),
    /** Hosts that may be reached directly. */
    allow: Type.Array(str('A host, an IP address or `*.example.org`.'), { description: 'Hosts that may be reached directly.' }),
  },
  { additionalProperties: false },
);

/** `egress`. */
export const EGRESS_SCHEMA = Type.Union([Type.Literal('allow'), Type.Literal('deny'), EGRESS_POLICY_SCHEMA], {
  description: "Unknown hosts: 'allow' (default), 'deny', or `{ mode: 'deny', allow: [hosts] }`.",
});

// ---- health checking ----

/** `healthCheck`: active health checking. */
export const HEALTH_CHECK_SCHEMA = Type.Object(
  {
    /** `'http'` (default) or `'tcp'` (connect only). Ignored when `check` is given. */
    type: opt(oneOf("'http' (default) or 'tcp' (connect only).", ['http', 'tcp'])),
    /** HTTP path to GET. Default `'/healthz'`. */
    path: opt(Type.String({ description: 'The HTTP path checked. Default `/healthz`.', pattern: '^/', expects: 'a path starting with "/"' })),
    /** Time between checks of an endpoint, in milliseconds. Default 5,000. */
    intervalMs: opt(int('Time between checks, in milliseconds. Default 5,000.', 1)),
    /** Time a check may take, in milliseconds. Default 1,000. */
    timeoutMs: opt(int('Time a check may take, in milliseconds. Default 1,000.', 1)),
    /** Consecutive successes that make an unhealthy endpoint healthy. Default 2. */
    healthyThreshold: opt(int('Passes in a row that make an unhealthy endpoint healthy. Default 2.', 1)),
    /** Consecutive failures that make a healthy endpoint unhealthy. Default 3. */
    unhealthyThreshold: opt(int('Failures in a row that make a healthy endpoint unhealthy. Default 3.', 1)),
    /** Statuses that count as healthy: numbers (`204`) or classes (`'2xx'`). Default `['2xx']`. */
    expectedStatuses: opt(
      Type.Array(Type.Union([int('A status.', 100, 599), Type.String({ pattern: '^[1-5]xx$' })], { expects: 'a status (100-599) or a class like "2xx"' }), {
        description: "Statuses that pass: numbers (204) or classes ('2xx'). Default ['2xx'].",
        minItems: 1,
      }),
    ),
    /**
     * Failing statuses that only count towards `unhealthyThreshold` (Envoy's
     * `retriable_statuses`); any other status outside `expectedStatuses` marks
     * the endpoint unhealthy at once. Numbers or classes. Default none.
     */
    retriableStatuses: opt(
      Type.Array(Type.Union([int('A status.', 100, 599), Type.String({ pattern: '^[1-5]xx$' })], { expects: 'a status (100-599) or a class like "2xx"' }), {
        description: "Failing statuses that count towards unhealthyThreshold instead of failing at once: numbers (503) or classes ('5xx'). Default none.",
      }),
    ),
    /** Extra request headers for HTTP checks. */
    headers: opt(strings('Headers sent with each check.')),
    /** The `Host` header of HTTP checks. Default: the service name. */
    host: opt(str('The Host header of checks. Default: the service name.')),
    /** A custom check, used instead of HTTP or TCP. */
    check: opt(code<HealthCheckFunction>('function', 'A custom check function (code only).')),
    /** Random spread added to each interval, in percent of it. Default 10. */
    jitterPercent: opt(percent('Random spread of intervals, in percent. Default 10.')),
    /**
     * Interval used for healthy endpoints while the service carries no
     * traffic, in milliseconds (Envoy's `no_traffic_interval`). Default 60,000.
     * An endpoint that is unhealthy or failed its last check is checked every
     * `intervalMs`, and a service's first request re-arms sleeping checks.
     */
    noTrafficIntervalMs: opt(int('Interval for healthy endpoints while the service has no traffic, ms. Default 60,000.', 1)),
  },
  { description: 'Active health checking. Default off. See docs/health-checking.md.', additionalProperties: false },
);

// ---- resilience ----

/** The retry conditions, in one place. */
export const RETRY_CONDITION_NAMES = Object.freeze([
  'connect-failure',
  'refused',
  'reset',
  '5xx',
  'gateway-error',
  'retriable-status-codes',
  'timeout',
] as const);

/** The schema of {@link RETRY_CONDITION_NAMES}. */
export const RETRY_CONDITION_SCHEMA = oneOf('A failure that may be retried.', RETRY_CONDITION_NAMES);

/** `retry.backoff`. */
export const BACKOFF_SCHEMA = Type.Object(
  {
    /** The first retry's delay bound, in milliseconds. Default 25. */
    baseMs: opt(num("The first retry's delay bound, ms.", 0, undefined, 25)),
    /** The largest delay bound, in milliseconds (at least `baseMs`). Default 250. */
    maxMs: opt(num('The largest delay bound, ms (>= baseMs).', 0, undefined, 250)),
  },
  { description: 'Full-jitter exponential backoff.', additionalProperties: false },
);

/** `retry.budget`. */
export const RETRY_BUDGET_SCHEMA = Type.Object(
  {
    /** Retries allowed as a percentage of requests. Default 20. */
    percent: opt(num('Retries allowed as a percentage of requests.', 0, 1000, 20)),
    /** Retries always allowed per second, whatever the request rate. Default 10. */
    minRetriesPerSecond: opt(num('Retries always allowed per second.', 0, undefined, 10)),
    /** The window requests are counted over, in milliseconds. Default 10,000. */
    ttlMs: opt(int('The counting window, ms.', 100, 600_000, 10_000)),
  },
  { description: 'The retry budget.', additionalProperties: false },
);

/** The methods retried by default: the idempotent ones. */
const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];

/** `retry`. */
export const RETRY_SCHEMA = Type.Object(
  {
    /** Tries in all, the first one included: 1 to 10. Default 3. */
    attempts: opt(int('Tries in all, the first included.', 1, 10, 3)),
    /** What may be retried. Default ['connect-failure', 'refused', 'reset', 'gateway-error', 'timeout']. */
    retryOn: opt(
      Type.Array(RETRY_CONDITION_SCHEMA, described('What may be retried.', ['connect-failure', 'refused', 'reset', 'gateway-error', 'timeout'])),
    ),
    /** Delay between tries; `false` retries at once. Default on. */
    backoff: opt(orFalse(BACKOFF_SCHEMA, true)),
    /** The retry budget; `false` means no budget (not recommended). Default on. */
    budget: opt(orFalse(RETRY_BUDGET_SCHEMA, true)),
    /** Methods that may be retried, upper-case. Default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']. */
    methods: opt(
      Type.Array(Type.String({ pattern: '^[A-Z]+$', expects: 'an upper-case method name' }), described('Methods that may be retried (upper-case).', IDEMPOTENT_METHODS)),
    ),
    /** Retry any method (still only with a replayable body). Default false. */
    retryNonIdempotent: opt(bool('Retry any method (replayable bodies only).', false)),
    /** Statuses retried under `retriable-status-codes`. Default []. */
    retriableStatusCodes: opt(Type.Array(int('A status.', 100, 599), described('Statuses retried under retriable-status-codes.', []))),
    /** The longest `Retry-After` honoured, in milliseconds; a longer one is not retried. Default 1,000. */
    retryAfterMaxMs: opt(num('Longest Retry-After honoured, ms.', 0, undefined, 1_000)),
  },
  { description: 'Retries. See docs/retries.md.', additionalProperties: false },
);

/** `timeout`. */
export const TIMEOUT_SCHEMA = Type.Object(
  {
    /** Each try's deadline, from its write on a connection until its response headers, in milliseconds (a try queued for a connection that long fails with `MESH_POOL_TIMEOUT`; docs/timeouts.md). Default: none. */
    perTryMs: opt(int('Each try, until response headers, ms. Must be <= totalMs. Default none.', 1)),
    /** The whole request's deadline (tries, backoffs, hedges and the response body), in milliseconds. Default: none. */
    totalMs: opt(int('The whole request (tries, backoffs, hedges, body), ms. Default none.', 1)),
  },
  { description: 'Deadlines. See docs/timeouts.md.', additionalProperties: false },
);

const breakerSettings = {
  /** `consecutive`: opens after `consecutiveFailures` failures in a row; `sampling`: opens on a failure rate. Default 'consecutive'. */
  mode: opt(Type.Union([Type.Literal('consecutive'), Type.Literal('sampling')], described('`consecutive` or `sampling`.', 'consecutive'))),
  /** Failures in a row that open the breaker (`consecutive` mode). Default 5. */
  consecutiveFailures: opt(int('Failures in a row that open the breaker.', 1, undefined, 5)),
  /** Failure percentage over the window that opens the breaker (`sampling` mode). Default 50. */
  failureRatePercent: opt(
    Type.Number({ ...described('Failure percentage over the window that opens it (sampling), > 0.', 50), exclusiveMinimum: 0, maximum: 100 }),
  ),
  /** The sampling window, in milliseconds. Default 10,000. */
  samplingWindowMs: opt(int('The sampling window in milliseconds.', 100, undefined, 10_000)),
  /** Calls needed in the window before the rate counts. Default 20. */
  minimumRequests: opt(int('Calls needed in the window before the rate counts.', 1, undefined, 20)),
  /**
   * How long the breaker stays open before it lets one probe through, in
   * milliseconds, the first time in a row it opens; each further opening in a
   * row doubles it, up to `maxHalfOpenAfterMs`. Default 1,000.
   */
  halfOpenAfterMs: opt(int('Time open before one probe, in milliseconds, doubling per opening in a row.', 1, undefined, 1_000)),
  /**
   * The longest open time the doubling reaches, in milliseconds (at least
   * `halfOpenAfterMs` is used). The streak ends once the breaker stays closed
   * as long as it was last open. Default 30,000.
   */
  maxHalfOpenAfterMs: opt(int('Longest open time as openings in a row double it, ms.', 1, undefined, 30_000)),
  /**
   * Count 5xx responses as failures, not only transport failures and
   * timeouts (outlier detection handles 5xx); the service breaker counts them
   * unless its settings say `count5xx: false`. Default false.
   */
  count5xx: opt(bool('Count 5xx responses as failures (the service breaker does unless set to false).', false)),
};

/** The settings of one breaker. */
export const BREAKER_SETTINGS_SCHEMA = Type.Object(breakerSettings, { description: 'Breaker settings.', additionalProperties: false });

/** `circuitBreaker`. */
export const CIRCUIT_BREAKER_SCHEMA = Type.Object(
  {
    ...breakerSettings,
    /** The per-service breaker: settings, `true` for the defaults, or `false` for none. Default false. */
    service: opt(Type.Union([Type.Boolean(), BREAKER_SETTINGS_SCHEMA], described('The per-service breaker: settings, true for the defaults, or false.', false))),
  },
  { description: 'Circuit breakers per endpoint (and optionally per service). See docs/circuit-breakers.md.', additionalProperties: false },
);

const ejectionCommon = {
  /** Probability (percent) that a detected outlier is ejected. Default 100. */
  enforcementPercent: opt(percent('Probability (percent) that a detected outlier is ejected.', 100)),
  /** Endpoints with enough volume needed for the check. Default 5. */
  minimumHosts: opt(int('Endpoints with enough volume needed for the check.', 1, undefined, 5)),
};

/** `outlierDetection.successRate`. */
export const SUCCESS_RATE_SCHEMA = Type.Object(
  {
    /** Eject below mean − stdevFactor × stdev. Default 1.9. */
    stdevFactor: opt(num('Eject below mean - stdevFactor x stdev.', 0, undefined, 1.9)),
    ...ejectionCommon,
    /** Requests an endpoint needs in the interval to be considered. Default 100. */
    requestVolume: opt(int('Requests needed in the interval.', 1, undefined, 100)),
  },
  { description: 'Success-rate ejection.', additionalProperties: false },
);

/** `outlierDetection.failurePercentage`. */
export const FAILURE_PERCENTAGE_SCHEMA = Type.Object(
  {
    /** Eject at or above this failure percentage. Default 85. */
    threshold: opt(percent('Eject at or above this failure percentage.', 85)),
    ...ejectionCommon,
    /** Requests an endpoint needs in the interval to be considered. Default 50. */
    requestVolume: opt(int('Requests needed in the interval.', 1, undefined, 50)),
  },
  { description: 'Failure-percentage ejection.', additionalProperties: false },
);

/** A count of failures in a row that ejects, or `false` (that check off). */
const ejectAfter = (description: string, fallback: number | false) =>
  Type.Union([int(description, 1), Type.Literal(false)], described(`${description} false turns it off.`, fallback));

/** `outlierDetection`. */
export const OUTLIER_DETECTION_SCHEMA = Type.Object(
  {
    /** 5xx responses (and transport failures) in a row that eject an endpoint; `false` off. Default 5. */
    consecutive5xx: opt(ejectAfter('5xx in a row that eject.', 5)),
    /** 502/503/504 responses (and transport failures) in a row that eject; `false` off. Default false. */
    consecutiveGatewayFailure: opt(ejectAfter('502/503/504 in a row that eject.', false)),
    /** Transport failures and timeouts in a row that eject; `false` off. Default false. */
    consecutiveLocalOriginFailure: opt(ejectAfter('Transport failures in a row that eject.', false)),
    /** How often success-rate and failure-percentage are checked, in milliseconds. Default 10,000. */
    intervalMs: opt(int('Check interval, ms.', 1, undefined, 10_000)),
    /** Ejection time = base × times ejected, in milliseconds. Default 30,000. */
    baseEjectionTimeMs: opt(int('Ejection time = base x times ejected, ms.', 1, undefined, 30_000)),
    /** The longest ejection, in milliseconds. Default 300,000. */
    maxEjectionTimeMs: opt(int('Longest ejection, ms.', 1, undefined, 300_000)),
    /** Most endpoints ejected at once, in percent; at least one can always be ejected. Default 10. */
    maxEjectionPercent: opt(percent('Most endpoints ejected at once, percent.', 10)),
    /** Success-rate ejection; `false` off. Default on. */
    successRate: opt(orFalse(SUCCESS_RATE_SCHEMA, true)),
    /** Failure-percentage ejection; `false` off. Default off. */
    failurePercentage: opt(orFalse(FAILURE_PERCENTAGE_SCHEMA, false)),
  },
  { description: 'Passive outlier detection. See docs/outlier-detection.md.', additionalProperties: false },
);

/** `bulkhead`. */
export const BULKHEAD_SCHEMA = Type.Object(
  {
    /** Requests in flight at once. Default 1,024. */
    maxConcurrent: opt(int('Requests in flight at once.', 1, undefined, 1_024)),
    /** Requests waiting for a slot (0: no queue). Default 0. */
    maxPending: opt(int('Requests waiting for a slot.', 0, undefined, 0)),
  },
  { description: 'Concurrency limit per service. See docs/bulkheads.md.', additionalProperties: false },
);

/** `hedge`. */
export const HEDGE_SCHEMA = Type.Object(
  {
    /** Send the backup after this many milliseconds without response headers. Default: the observed `percentile` latency. */
    delayMs: opt(num('Send the backup after this many ms. Default: the observed percentile.', 0)),
    /** The observed latency percentile used when `delayMs` is not set. Default 95. */
    percentile: opt(num('Latency percentile used without delayMs.', 1, 99.9, 95)),
    /** Attempt latencies needed before a percentile is trusted. Default 20. */
    minSamples: opt(int('Latencies needed before the percentile is trusted.', 1, undefined, 20)),
  },
  { description: 'Hedged requests for idempotent calls. See docs/hedging.md.', additionalProperties: false },
);

const resilience = {
  /** Retries: see {@link RetryOptions}. Default on. */
  retry: opt(orFalse(RETRY_SCHEMA, true)),
  /** Deadlines: see {@link TimeoutOptions}. Default off. */
  timeout: opt(orFalse(TIMEOUT_SCHEMA, false)),
  /** Circuit breakers: see {@link CircuitBreakerOptions}; the per-service one is off unless `service` says otherwise. Default on. */
  circuitBreaker: opt(orFalse(CIRCUIT_BREAKER_SCHEMA, true)),
  /** Outlier detection: see {@link OutlierDetectionOptions}. Default on. */
  outlierDetection: opt(orFalse(OUTLIER_DETECTION_SCHEMA, true)),
  /** A concurrency limit: see {@link BulkheadOptions}. Default off. */
  bulkhead: opt(orFalse(BULKHEAD_SCHEMA, false)),
  /** Hedged requests: see {@link HedgeOptions}. Default off. */
  hedge: opt(orFalse(HEDGE_SCHEMA, false)),
};

/** The per-request override (`mesh` in a request's options): retry, timeout and hedge. */
export const REQUEST_OVERRIDE_SCHEMA = Type.Object(
  { retry: opt(orFalse(RETRY_SCHEMA)), timeout: opt(orFalse(TIMEOUT_SCHEMA)), hedge: opt(orFalse(HEDGE_SCHEMA)) },
  { description: "One request's own retry, timeout and hedge policies, over the service's.", additionalProperties: false },
);

/** The resilience blocks a service (or `defaults`) may set. */
export const RESILIENCE_SCHEMA = Type.Object(resilience, { additionalProperties: false });

// ---- balancing, pools, routing ----

/** The built-in load-balancing policies (more can be registered in code). */
export const LB_POLICIES = ['round-robin', 'weighted-round-robin', 'random', 'least-request', 'peak-ewma', 'ring-hash', 'maglev'] as const;

/** A load-balancing policy by name, with that policy's options beside it. */
export interface LoadBalancerChoice {
  /** A registered policy name, e.g. `'least-request'`. */
  policy: string;
  /** The policy's own options, e.g. `choiceCount`. */
  [option: string]: unknown;
}

/**
 * `loadBalancer`: a policy name, or `{ policy, ...options }`. The policy name
 * is any registered policy (the built-ins are listed for editors); each
 * policy checks its own options.
 */
export const LOAD_BALANCER_SCHEMA = Type.Union(
  [
    str('A registered policy name.'),
    Type.Unsafe<LoadBalancerChoice>(
      Type.Object({ policy: str('A registered policy name, e.g. `least-request`.') }, { additionalProperties: true, description: "A policy and that policy's own options." }),
    ),
  ],
  {
    description: 'A policy name, or `{ policy, ...options }`. Default `round-robin`. See docs/load-balancing.md.',
    examples: [...LB_POLICIES],
    [PUBLISHED_AS]: () => namedChoices('policy', BUILTIN_BALANCERS, 'load-balancing policy', true),
  },
);

/** `connection`. */
export const CONNECTION_SCHEMA = Type.Object(
  {
    /** Most sockets per endpoint. Default 64. */
    maxConnections: opt(int('Most sockets per endpoint. Default 64.', 1)),
    /** Requests pipelined per socket. Default 1 (no pipelining). */
    pipelining: opt(int('Requests pipelined per socket. Default 1.', 1, 100)),
    /** Time to establish a connection, in milliseconds. Default 10,000. */
    connectTimeoutMs: opt(int('Time to connect, in milliseconds. Default 10,000.', 1)),
    /** How long an idle socket is kept, in milliseconds. Default 4,000 (undici's default). */
    keepAliveTimeoutMs: opt(int('How long an idle socket is kept, in milliseconds. Default 4,000.', 1)),
    /**
     * undici `compose` interceptors (code only), applied to each endpoint's
     * pool: every try (first try, retry, hedge, requeue) passes through them
     * with the endpoint's own origin, and the mesh's TLS, mTLS identity
     * checks and pool settings stay. Same order as undici's
     * `dispatcher.compose(a, b)`: the last one sees the request first.
     * A service's list replaces the one in `defaults`. Health checks do not
     * pass through them. Default none. See docs/getting-started.md#interceptors.
     */
    interceptors: opt(
      Type.Array(code<Dispatcher.DispatcherComposeInterceptor>('function', 'An undici interceptor: (dispatch) => dispatch (code only).'), {
        description: "undici compose interceptors applied to each endpoint's pool (code only). Default none.",
      }),
    ),
  },
  { description: 'Pool settings for each endpoint.', additionalProperties: false },
);

/** `slowStart`. */
export const SLOW_START_SCHEMA = Type.Object(
  {
    /** How long the ramp lasts, in milliseconds. */
    windowMs: int('How long the ramp lasts, in milliseconds.', 1),
    /** The weight a new endpoint starts at, in percent of its configured weight. Default 10. */
    minWeightPercent: opt(num('Starting weight, in percent of the configured weight. Default 10.', 1, 100)),
  },
  { description: 'Ramp the weight of new endpoints. Default off.', additionalProperties: false },
);

/** A header or query value match. */
export const STRING_MATCH_SCHEMA = Type.Union(
  [
    Type.String({ description: 'The value equals this.' }),
    Type.Object(
      {
        /** The value equals this. */
        exact: Type.String({ description: 'The value equals this.' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The whole value matches this regular expression. */
        regex: Type.String({ description: 'The whole value matches this regular expression.' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The value is present (true) or absent (false). */
        present: Type.Boolean({ description: 'The value is present (true) or absent (false).' }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'A value: a string (exact), `{ exact }`, `{ regex }` or `{ present }`.', expects: 'a string or exactly one of exact, regex, present' },
);

/** A path match. */
export const PATH_MATCH_SCHEMA = Type.Union(
  [
    Type.Object(
      {
        /** The path equals this. */
        exact: Type.String({ description: 'The path equals this.', pattern: '^/', expects: 'a path starting with "/"' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The path starts with this. */
        prefix: Type.String({ description: 'The path starts with this.', pattern: '^/', expects: 'a path starting with "/"' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The whole path matches this regular expression. */
        regex: Type.String({ description: 'The whole path matches this regular expression.' }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'The path, without the query string: `{ exact }`, `{ prefix }` or `{ regex }`.', expects: 'exactly one of exact, prefix, regex' },
);

/** `routes[].match`. */
export const ROUTE_MATCH_SCHEMA = Type.Object(
  {
    /** The path, without the query string. */
    path: opt(PATH_MATCH_SCHEMA),
    /** One method or a list (upper-case). */
    method: opt(Type.Union([str('A method.'), Type.Array(str('A method.'), { minItems: 1 })], { description: 'One method or a list.' })),
    /** Request headers by name (case-insensitive names). */
    headers: opt(Type.Record(Type.String(), STRING_MATCH_SCHEMA, { description: 'Request headers by name.' })),
    /** Query parameters by name (the first value when repeated). */
    query: opt(Type.Record(Type.String(), STRING_MATCH_SCHEMA, { description: 'Query parameters by name.' })),
  },
  { description: 'When the route applies; all given conditions must hold.', additionalProperties: false },
);

/** `routes[].split[]`. */
export const SPLIT_DESTINATION_SCHEMA = Type.Object(
  {
    /** Relative share, a finite number >= 0. The weights of a split must sum to more than 0. */
    weight: num('Relative share, >= 0; the weights of a split must sum to more than 0.', 0),
    /** Endpoints whose labels include all of these, e.g. `{ version: 'v2' }`. */
    subset: opt(strings('Endpoint labels to match.')),
    /** Another configured service, e.g. for a migration. */
    service: opt(str('Another configured service.')),
  },
  { description: 'One destination: a label subset, another service, or the whole service.', additionalProperties: false },
);

/** `routes[]`. */
export const ROUTE_SCHEMA = Type.Object(
  {
    /** A name for telemetry and the snapshot. Default `route-<index>`. */
    name: opt(str('A name for telemetry. Default `route-<index>`.')),
    /** When the route applies. Default: always. */
    match: opt(ROUTE_MATCH_SCHEMA),
    /** Where matching requests go, split by weight. */
    split: Type.Array(SPLIT_DESTINATION_SCHEMA, {
      description: 'Weighted destinations; weights must sum to more than 0.',
      minItems: 1,
      expects: 'a non-empty array of { weight, subset? | service? }',
    }),
    /** Fault injection for requests this route matches: replaces the service's `faults`; `false` turns them off here. */
    faults: opt(FAULTS),
  },
  { description: 'A routing rule: the first route whose match holds decides where a request goes.', additionalProperties: false },
);

// ---- endpoints and discovery ----

/** An endpoint in configuration. */
export const ENDPOINT_INPUT_SCHEMA = Type.Union(
  [
    str('`http://host:port` or `https://host:port`.'),
    Type.Object(
      {
        /** `http://host:port` or `https://host:port`; a path, query or credentials are not allowed. */
        url: str('`http://host:port` or `https://host:port`.'),
        /** Relative share of traffic, a finite number > 0. Default 1. */
        weight: opt(Type.Number({ description: 'Relative share of traffic, > 0. Default 1.', exclusiveMinimum: 0 })),
        /** Locality zone, e.g. `eu-west-1a`. */
        zone: opt(str('Locality zone, e.g. `eu-west-1a`.')),
        /** Priority level: 0 is the highest and the default. */
        priority: opt(int('Priority level: 0 (the default) is the highest.', 0)),
        /** Labels used by route subsets, e.g. `{ version: 'v2' }`. */
        labels: opt(strings('Labels used by route subsets.')),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'A URL, or an object with `url` and optional weight, zone, priority, labels.' },
);

/** `{ type, ...options }`: the provider type checks its own options. */
export const DISCOVERY_SPEC_SCHEMA = Type.Unsafe<DiscoverySpec>(
  Type.Object(
    { type: str('A registered provider type, e.g. `file`, `dns`, `etcd`.') },
    { additionalProperties: true, [PUBLISHED_AS]: () => namedChoices('type', BUILTIN_DISCOVERY, 'discovery provider type', false) },
  ),
);
const DISCOVERY_ITEM = Type.Union([DISCOVERY_SPEC_SCHEMA, code<DiscoveryProvider>('provider', 'A provider object (code only).')]);

/** `discovery`: one provider or a list in order of preference. */
export const DISCOVERY_SCHEMA = Type.Union([DISCOVERY_ITEM, Type.Array(DISCOVERY_ITEM, { minItems: 1 })], {
  description: 'A provider spec `{ type, ...options }` (e.g. `{ type: "file", path }`), or a list in order of preference.',
});

// ---- services and the whole config ----

const shared = {
  /** The load-balancing policy. Default `'round-robin'`. */
  loadBalancer: opt(LOAD_BALANCER_SCHEMA),
  /** Pool settings for each endpoint. */
  connection: opt(CONNECTION_SCHEMA),
  /**
   * Envoy's overprovisioning factor for priority and locality spill-over: a
   * level whose healthy share times this factor is at least 100% keeps all its
   * traffic. Default 1.4.
   */
  overprovisioningFactor: opt(num("Envoy's overprovisioning factor for priority and locality spill-over. Default 1.4.", 1, 100)),
  /**
   * Panic threshold in percent: when fewer endpoints than this (after the
   * overprovisioning factor) are usable, use all endpoints rather than
   * overload the few. 0 disables. Default 50.
   */
  panicThreshold: opt(percent('Panic threshold in percent (0 disables). Default 50.')),
  /** Ramp the weight of newly added endpoints over a window. Default off. */
  slowStart: opt(orFalse(SLOW_START_SCHEMA)),
  /**
   * TLS and mTLS for `https://` endpoints; a service's settings are merged
   * field by field over `defaults.tls`, and `false` turns the defaults off.
   * See docs/security.md.
   */
  tls: opt(orFalse(TLS_SCHEMA)),
  /** Refuse plaintext (`http://`) endpoints. Default `false`; implied by `tls.identity`. */
  requireTls: opt(bool('Refuse plaintext endpoints. Default false.')),
  /** Active health checking of the endpoints. Default: off (`false`). */
  healthCheck: opt(orFalse(HEALTH_CHECK_SCHEMA)),
  /**
   * Istio-style fault injection, applied in the client before sending: delay
   * and/or abort a share of requests. A route's `faults` replace these. Default
   * off (`false`). See docs/fault-injection.md.
   */
  faults: opt(FAULTS),
  ...resilience,
};

/** `defaults`: what every service inherits. */
export const SHARED_SERVICE_SCHEMA = Type.Object(shared, { description: 'Settings every service inherits.', additionalProperties: false });

/** `services.<name>`. */
export const SERVICE_SCHEMA = Type.Object(
  {
    /** The service's endpoints. Default: none (every request fails with `MESH_NO_HEALTHY_ENDPOINT`). */
    endpoints: opt(Type.Array(ENDPOINT_INPUT_SCHEMA, { description: 'The endpoints. Default none (or discovery).' })),
    /**
     * Where the endpoints come from: a provider, a spec (`{ type: 'file', path }`)
     * or a list in order of preference. Default: the top-level `discovery`,
     * unless `endpoints` is set. With both, `endpoints` is the last fallback.
     */
    discovery: opt(DISCOVERY_SCHEMA),
    /** Routing rules, first match wins; no match sends to the whole service. */
    routes: opt(Type.Array(ROUTE_SCHEMA, { description: 'Routing rules, first match wins.' })),
    /** Overrides the client's `localZone` for this service. */
    localZone: opt(str('Overrides the top-level localZone for this service.')),
    /** A credential hook whose headers are added to every request to this service (cached until expiry). */
    auth: opt(code<AuthHook>('function', 'A credential hook (code only).')),
    ...shared,
  },
  { description: 'One service: its endpoints, routes and policies (each overrides `defaults`).', additionalProperties: false },
);

/** Service names are URL hosts: lower-case letters, digits, `-`, `_` and `.`. */
export const SERVICE_NAME_PATTERN = '^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$';

/** The whole configuration: what `new MeshClient(...)`, `mesh.updateConfig` and config sources take. */
export const MESH_CONFIG_SCHEMA = Type.Object(
  {
    /** The JSON Schema of this format (`proxyless/schema.json`), for editor completion in config files; ignored by the mesh. */
    $schema: opt(Type.String({ description: 'This schema, for editor completion; ignored.' })),
    /** The services, by name. The URL host `http://orders/...` names the service `orders`. */
    services: opt(
      Type.Record(Type.String({ pattern: SERVICE_NAME_PATTERN }), SERVICE_SCHEMA, {
        description: 'The services by name (a URL host: lower-case letters, digits, "-", "_", ".").',
        keyExpects: 'a service name is a URL host: lower-case letters, digits, "-", "_" and "."',
        additionalProperties: false,
      }),
    ),
    /** Settings every service inherits. */
    defaults: opt(SHARED_SERVICE_SCHEMA),
    /**
     * What to do with a URL whose host is not a service: `'allow'` (default)
     * sends it directly to that host, still observed; `'deny'` refuses it with
     * `MESH_UNKNOWN_SERVICE`; `{ mode: 'deny', allow: ['api.stripe.com', '*.example.org'] }`
     * refuses all but the listed hosts.
     */
    egress: opt(EGRESS_SCHEMA),
    /** The zone this process runs in: traffic prefers endpoints with the same `zone`. */
    localZone: opt(str('The zone this process runs in.')),
    /**
     * Discovery for every service that sets neither `endpoints` nor its own
     * `discovery`: `discovery: fileDiscovery('endpoints.json')`.
     */
    discovery: opt(DISCOVERY_SCHEMA),
  },
  {
    $id: 'https://unpkg.com/proxyless/dist/schema.json',
    title: 'proxyless MeshConfig',
    description: 'A proxyless configuration: what `new MeshClient(...)`, `mesh.updateConfig` and config sources take.',
    additionalProperties: false,
  },
);

/** The static type of {@link MESH_CONFIG_SCHEMA}. */
export type MeshConfigShape = Static<typeof MESH_CONFIG_SCHEMA>;

// ---- the published JSON Schema ----

export type { JsonSchema } from '../util/json-schema.js';

/**
 * The JSON Schema of the config file format, from {@link MESH_CONFIG_SCHEMA}
 * (see `toJsonSchema` in src/util/json-schema.ts): without what only code can
 * give, and with one block per built-in balancer and discovery type.
 */
export function publishedSchema(): JsonSchema {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', ...toJsonSchema(MESH_CONFIG_SCHEMA) };
}
