/**
 * The JSON Schema of the meshlet config file format, written once as a typed
 * object: `npm run build` writes it to `dist/schema.json` (the subpath export
 * `meshlet/schema.json`), docs/configuration.md's reference is generated from
 * it, and a property-based test checks that it agrees with the validator
 * (src/config/resolve.ts), which keeps the precise messages and the
 * cross-field rules. Functions (auth hooks, health-check functions, provider
 * objects) cannot be written in a file and are not in the schema.
 */

import type { HealthCheckOptions } from '../health/options.js';
import type { Route, RouteMatch, SlowStartOptions, SplitDestination } from '../routing/types.js';
import type { IdentityOptions, TlsOptions } from '../security/types.js';
import type { FaultSpec } from './faults.js';
import type {
  BackoffOptions,
  BulkheadOptions,
  CircuitBreakerOptions,
  CircuitBreakerSettings,
  ConnectionOptions,
  FailurePercentageEjectionOptions,
  HedgeOptions,
  MeshConfig,
  OutlierDetectionOptions,
  RetryBudgetOptions,
  RetryOptions,
  ServiceOptions,
  SharedServiceOptions,
  SuccessRateEjectionOptions,
  TimeoutOptions,
} from './types.js';

/** The subset of JSON Schema (draft 2020-12) the config schema uses. */
export interface JsonSchema {
  /** JSON Schema keyword. */
  $schema?: string;
  /** JSON Schema keyword. */
  $id?: string;
  /** JSON Schema keyword. */
  title?: string;
  /** JSON Schema keyword: what the value means, with its default. */
  description?: string;
  /** JSON Schema keyword. */
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
  /** JSON Schema keyword. */
  properties?: Record<string, JsonSchema>;
  /** JSON Schema keyword. */
  required?: string[];
  /** JSON Schema keyword. */
  additionalProperties?: boolean | JsonSchema;
  /** JSON Schema keyword. */
  propertyNames?: JsonSchema;
  /** JSON Schema keyword. */
  items?: JsonSchema;
  /** JSON Schema keyword. */
  minItems?: number;
  /** JSON Schema keyword. */
  enum?: readonly (string | number | boolean)[];
  /** JSON Schema keyword. */
  const?: string | number | boolean;
  /** JSON Schema keyword. */
  anyOf?: JsonSchema[];
  /** JSON Schema keyword. */
  minimum?: number;
  /** JSON Schema keyword. */
  maximum?: number;
  /** JSON Schema keyword. */
  exclusiveMinimum?: number;
  /** JSON Schema keyword. */
  minLength?: number;
  /** JSON Schema keyword. */
  pattern?: string;
}

/**
 * The schemas of the properties of `T`: exactly its keys, none missing, none
 * extra, so the schema cannot drift from the TypeScript option types
 * (src/config/types.ts) without a compile error.
 */
type Props<T> = { [K in keyof Required<T>]-?: JsonSchema };

const obj = <T = Record<string, unknown>>(description: string, properties: Props<T>, required?: (keyof T & string)[]): JsonSchema => ({
  type: 'object',
  description,
  properties,
  ...(required ? { required } : {}),
  additionalProperties: false,
});
const int = (description: string, minimum?: number, maximum?: number): JsonSchema => ({
  type: 'integer',
  description,
  ...(minimum === undefined ? {} : { minimum }),
  ...(maximum === undefined ? {} : { maximum }),
});
const num = (description: string, minimum?: number, maximum?: number): JsonSchema => ({
  type: 'number',
  description,
  ...(minimum === undefined ? {} : { minimum }),
  ...(maximum === undefined ? {} : { maximum }),
});
const str = (description: string): JsonSchema => ({ type: 'string', description, minLength: 1 });
const bool = (description: string): JsonSchema => ({ type: 'boolean', description });
const oneOf = (description: string, values: readonly string[]): JsonSchema => ({ type: 'string', description, enum: values });
/** A block that can also be `false` (off). */
const orFalse = ({ description, ...schema }: JsonSchema): JsonSchema => ({ ...(description === undefined ? {} : { description }), anyOf: [schema, { const: false }] });
const strings = (description: string): JsonSchema => ({ type: 'object', description, additionalProperties: { type: 'string' } });

const percent = (description: string) => num(description, 0, 100);

const FAULTS = orFalse(
  obj<FaultSpec>('Istio-style fault injection before sending; a route\'s faults replace the service\'s. Default off. See docs/fault-injection.md.', {
    delay: obj<NonNullable<FaultSpec['delay']>>('Delay a share of requests.', { percent: percent('Share of requests delayed, 0 to 100.'), ms: num('The delay in milliseconds.', 0) }, ['percent', 'ms']),
    abort: {
      ...obj<NonNullable<FaultSpec['abort']>>('Abort a share of requests with a status or a transport error (exactly one).', {
        percent: percent('Share of requests aborted, 0 to 100.'),
        status: int('Answer with this HTTP status.', 200, 599),
        error: oneOf('Fail with this transport error instead.', ['connect-refused', 'connect-timeout', 'reset', 'timeout']),
      }, ['percent']),
    },
  }),
);

const TLS_SOURCE: JsonSchema = {
  description: 'PEM text, or `{ file }` to read (and watch) a file.',
  anyOf: [{ type: 'string' }, { type: 'object', properties: { file: { type: 'string', minLength: 1 } }, required: ['file'], additionalProperties: false }],
};

const LB_POLICIES = ['round-robin', 'weighted-round-robin', 'random', 'least-request', 'peak-ewma', 'ring-hash', 'maglev'];

const BREAKER_SETTINGS: Props<CircuitBreakerSettings> = {
  mode: oneOf('`consecutive` or `sampling`. Default `consecutive`.', ['consecutive', 'sampling']),
  consecutiveFailures: int('Failures in a row that open the breaker. Default 5.', 1),
  failureRatePercent: { ...num('Failure percentage over the window that opens it (sampling), > 0. Default 50.', undefined, 100), exclusiveMinimum: 0 },
  samplingWindowMs: int('The sampling window in milliseconds. Default 10,000.', 100),
  minimumRequests: int('Calls needed in the window before the rate counts. Default 20.', 1),
  halfOpenAfterMs: int('Time open before one probe, in milliseconds. Default 10,000.', 1),
  count5xx: bool('Count 5xx responses as failures. Default false for endpoints, true for the service breaker.'),
};

const EJECTION_COMMON: Props<Pick<SuccessRateEjectionOptions, 'enforcementPercent' | 'minimumHosts'>> = {
  enforcementPercent: percent('Probability (percent) that a detected outlier is ejected. Default 100.'),
  minimumHosts: int('Endpoints with enough volume needed for the check. Default 5.', 1),
};

/** Options a service can set and `defaults` can set for every service. */
const SHARED: Props<SharedServiceOptions> = {
  loadBalancer: {
    description: 'A policy name, or `{ policy, ...options }`. Default `round-robin`. See docs/load-balancing.md.',
    anyOf: [
      { type: 'string', enum: LB_POLICIES },
      { type: 'object', properties: { policy: { type: 'string', enum: LB_POLICIES } }, required: ['policy'], additionalProperties: true },
    ],
  },
  connection: obj<ConnectionOptions>('Pool settings for each endpoint.', {
    maxConnections: int('Most sockets per endpoint. Default 64.', 1),
    pipelining: int('Requests pipelined per socket. Default 1.', 1, 100),
    connectTimeoutMs: int('Time to connect, in milliseconds. Default 10,000.', 1),
    keepAliveTimeoutMs: int('How long an idle socket is kept, in milliseconds. Default 4,000.', 1),
  }),
  overprovisioningFactor: num("Envoy's overprovisioning factor for priority and locality spill-over. Default 1.4.", 1, 100),
  panicThreshold: percent('Panic threshold in percent (0 disables). Default 50.'),
  slowStart: orFalse(
    obj<SlowStartOptions>('Ramp the weight of new endpoints. Default off.', {
      windowMs: int('How long the ramp lasts, in milliseconds.', 1),
      minWeightPercent: num('Starting weight, in percent of the configured weight. Default 10.', 1, 100),
    }, ['windowMs']),
  ),
  tls: orFalse(
    obj<TlsOptions>('TLS and mTLS for `https://` endpoints. See docs/security.md.', {
      ca: TLS_SOURCE,
      cert: TLS_SOURCE,
      key: TLS_SOURCE,
      servername: str('SNI and the name checked in the certificate. Default: the endpoint host.'),
      minVersion: oneOf("Lowest TLS version. Default 'TLSv1.2'.", ['TLSv1.2', 'TLSv1.3']),
      identity: obj<IdentityOptions>('SPIFFE identity the servers must prove (implies requireTls; needs ca).', {
        trustDomain: str('The trust domain, e.g. `example.org`.'),
        allow: { type: 'array', description: 'Allowed SPIFFE IDs.', items: { type: 'string' } },
      }),
      watch: {
        description: 'Reload `{ file }` material when files change. Default false.',
        anyOf: [
          { type: 'boolean' },
          { type: 'object', properties: { debounceMs: { type: 'integer', minimum: 0 }, pollMs: { type: 'integer', minimum: 0 } }, additionalProperties: false },
        ],
      },
    }),
  ),
  requireTls: bool('Refuse plaintext endpoints. Default false.'),
  healthCheck: orFalse(
    obj<Omit<HealthCheckOptions, 'check'>>('Active health checking. Default off. See docs/health-checking.md.', {
      type: oneOf("'http' or 'tcp'. Default 'http'.", ['http', 'tcp']),
      path: str('The HTTP path checked. Default `/healthz`.'),
      intervalMs: int('Time between checks, in milliseconds. Default 5,000.', 1),
      timeoutMs: int('Time a check may take, in milliseconds. Default 1,000.', 1),
      healthyThreshold: int('Passes in a row to become healthy. Default 1.', 1),
      unhealthyThreshold: int('Failures in a row to become unhealthy. Default 3.', 1),
      expectedStatuses: { type: 'array', description: 'Statuses that pass (numbers or ranges like `"200-299"`). Default 200-299.', items: { anyOf: [{ type: 'integer' }, { type: 'string' }] } },
      headers: strings('Headers sent with each check.'),
      host: str('The Host header of checks. Default: the service name.'),
      jitterPercent: percent('Random spread of intervals, in percent. Default 10.'),
      noTrafficIntervalMs: int('Interval while the service has no traffic, in milliseconds. Default: intervalMs.', 1),
    }),
  ),
  faults: FAULTS,
  retry: orFalse(
    obj<RetryOptions>('Retries. Default on. See docs/retries.md.', {
      attempts: int('Tries in all, the first included. Default 3.', 1, 10),
      retryOn: {
        type: 'array',
        description: 'What may be retried. Default connect-failure, refused, reset, gateway-error, timeout.',
        items: { type: 'string', enum: ['connect-failure', 'refused', 'reset', '5xx', 'gateway-error', 'retriable-status-codes', 'timeout'] },
      },
      backoff: orFalse(obj<BackoffOptions>('Full-jitter exponential backoff. Default { baseMs: 25, maxMs: 250 }.', { baseMs: num('First delay bound, ms. Default 25.', 0), maxMs: num('Largest delay bound, ms (>= baseMs). Default 250.', 0) })),
      budget: orFalse(
        obj<RetryBudgetOptions>('The retry budget. Default { percent: 20, minRetriesPerSecond: 10, ttlMs: 10000 }.', {
          percent: num('Retries allowed as a percentage of requests. Default 20.', 0, 1000),
          minRetriesPerSecond: num('Retries always allowed per second. Default 10.', 0),
          ttlMs: int('The counting window, ms. Default 10,000.', 100, 600_000),
        }),
      ),
      methods: { type: 'array', description: 'Methods that may be retried. Default the idempotent ones.', items: { type: 'string', pattern: '^[A-Z]+$' } },
      retryNonIdempotent: bool('Retry any method (replayable bodies only). Default false.'),
      retriableStatusCodes: { type: 'array', description: 'Statuses retried under retriable-status-codes. Default [].', items: { type: 'integer', minimum: 100, maximum: 599 } },
      retryAfterMaxMs: num('Longest Retry-After honoured, ms. Default 1,000.', 0),
    }),
  ),
  timeout: orFalse(
    obj<TimeoutOptions>('Deadlines. Default none. See docs/timeouts.md.', {
      perTryMs: int('Each try, until response headers, ms. Must be <= totalMs.', 1),
      totalMs: int('The whole request, ms.', 1),
    }),
  ),
  circuitBreaker: orFalse(
    obj<CircuitBreakerOptions>('Circuit breakers per endpoint (and optionally per service). See docs/circuit-breakers.md.', {
      ...BREAKER_SETTINGS,
      service: {
        description: 'The per-service breaker: settings, true for the defaults, or false (default).',
        anyOf: [{ type: 'boolean' }, { type: 'object', properties: BREAKER_SETTINGS, additionalProperties: false }],
      },
    }),
  ),
  outlierDetection: orFalse(
    obj<OutlierDetectionOptions>('Passive outlier detection. Default on. See docs/outlier-detection.md.', {
      consecutive5xx: orFalse(int('5xx in a row that eject. Default 5.', 1)),
      consecutiveGatewayFailure: orFalse(int('502/503/504 in a row that eject. Default off.', 1)),
      consecutiveLocalOriginFailure: orFalse(int('Transport failures in a row that eject. Default off.', 1)),
      intervalMs: int('Check interval, ms. Default 10,000.', 1),
      baseEjectionTimeMs: int('Ejection time = base x times ejected, ms. Default 30,000.', 1),
      maxEjectionTimeMs: int('Longest ejection, ms. Default 300,000.', 1),
      maxEjectionPercent: percent('Most endpoints ejected at once, percent. Default 10.'),
      successRate: orFalse(
        obj<SuccessRateEjectionOptions>('Success-rate ejection. Default on.', {
          stdevFactor: num('Eject below mean - stdevFactor x stdev. Default 1.9.', 0),
          ...EJECTION_COMMON,
          requestVolume: int('Requests needed in the interval. Default 100.', 1),
        }),
      ),
      failurePercentage: orFalse(
        obj<FailurePercentageEjectionOptions>('Failure-percentage ejection. Default off.', {
          threshold: percent('Eject at or above this failure percentage. Default 85.'),
          ...EJECTION_COMMON,
          requestVolume: int('Requests needed in the interval. Default 50.', 1),
        }),
      ),
    }),
  ),
  bulkhead: orFalse(
    obj<BulkheadOptions>('Concurrency limit per service. Default off. See docs/bulkheads.md.', {
      maxConcurrent: int('Requests in flight at once. Default 1,024.', 1),
      maxPending: int('Requests waiting for a slot. Default 0.', 0),
    }),
  ),
  hedge: orFalse(
    obj<HedgeOptions>('Hedged requests for idempotent calls. Default off. See docs/hedging.md.', {
      delayMs: num('Send the backup after this many ms. Default: the observed percentile.', 0),
      percentile: num('Latency percentile used without delayMs. Default 95.', 1, 99.9),
      minSamples: int('Latencies needed before the percentile is trusted. Default 20.', 1),
    }),
  ),
};

const STRING_MATCH: JsonSchema = {
  description: 'A value: a string (exact), `{ exact }`, `{ regex }` or `{ present }`.',
  anyOf: [
    { type: 'string' },
    { type: 'object', properties: { exact: { type: 'string' } }, required: ['exact'], additionalProperties: false },
    { type: 'object', properties: { regex: { type: 'string' } }, required: ['regex'], additionalProperties: false },
    { type: 'object', properties: { present: { type: 'boolean' } }, required: ['present'], additionalProperties: false },
  ],
};

const ENDPOINT: JsonSchema = {
  description: 'A URL, or an object with `url` (or `address` and `port`) and optional weight, zone, priority, labels.',
  anyOf: [
    { type: 'string', minLength: 1 },
    {
      type: 'object',
      properties: {
        url: { type: 'string', minLength: 1 },
        address: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        weight: { type: 'number', exclusiveMinimum: 0 },
        zone: { type: 'string' },
        priority: { type: 'integer', minimum: 0 },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
      additionalProperties: false,
    },
  ],
};

const DISCOVERY_SPEC: JsonSchema = {
  type: 'object',
  properties: { type: { type: 'string', minLength: 1 } },
  required: ['type'],
  additionalProperties: true,
};
const DISCOVERY: JsonSchema = {
  description: 'A provider spec `{ type, ...options }` (e.g. `{ type: "file", path }`) or a list in order of preference.',
  anyOf: [DISCOVERY_SPEC, { type: 'array', items: DISCOVERY_SPEC, minItems: 1 }],
};

const ROUTE = obj<Route>(
  'A routing rule: the first route whose match holds decides where a request goes.',
  {
    name: str('A name for telemetry. Default `route-<index>`.'),
    match: obj<RouteMatch>('When the route applies; all given conditions must hold.', {
      path: {
        description: 'The path: `{ exact }`, `{ prefix }` or `{ regex }`.',
        anyOf: [
          { type: 'object', properties: { exact: { type: 'string', pattern: '^/' } }, required: ['exact'], additionalProperties: false },
          { type: 'object', properties: { prefix: { type: 'string', pattern: '^/' } }, required: ['prefix'], additionalProperties: false },
          { type: 'object', properties: { regex: { type: 'string' } }, required: ['regex'], additionalProperties: false },
        ],
      },
      method: { description: 'One method or a list.', anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] },
      headers: { type: 'object', description: 'Request headers by name.', additionalProperties: STRING_MATCH },
      query: { type: 'object', description: 'Query parameters by name.', additionalProperties: STRING_MATCH },
    }),
    split: {
      type: 'array',
      description: 'Weighted destinations; weights must sum to more than 0.',
      minItems: 1,
      items: obj<SplitDestination>('One destination: a label subset, another service, or the whole service.', {
        weight: num('Relative share, >= 0.', 0),
        subset: { type: 'object', description: 'Endpoint labels to match.', additionalProperties: { type: 'string' } },
        service: str('Another configured service.'),
      }, ['weight']),
    },
    faults: FAULTS,
  },
  ['split'],
);

const SERVICE = obj<Omit<ServiceOptions, 'auth'>>('One service: its endpoints, routes and policies (each overrides `defaults`).', {
  endpoints: { type: 'array', description: 'The endpoints. Default none (or discovery).', items: ENDPOINT },
  discovery: DISCOVERY,
  routes: { type: 'array', description: 'Routing rules, first match wins.', items: ROUTE },
  localZone: str("Overrides the top-level localZone for this service."),
  ...SHARED,
});

/** The JSON Schema of the meshlet config file format (`meshlet/schema.json`). */
export const MESH_CONFIG_SCHEMA: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://unpkg.com/meshlet/dist/schema.json',
  title: 'meshlet MeshConfig',
  ...obj<MeshConfig>('A meshlet configuration: what `new MeshClient(...)`, `mesh.updateConfig` and config sources take.', {
    $schema: { type: 'string', description: 'This schema, for editor completion; ignored.' },
    services: {
      type: 'object',
      description: 'The services by name (a URL host: lower-case letters, digits, "-", "_", ".").',
      propertyNames: { pattern: '^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$' },
      additionalProperties: SERVICE,
    },
    defaults: obj<SharedServiceOptions>('Settings every service inherits.', SHARED),
    egress: {
      description: "Unknown hosts: 'allow' (default), 'deny', or `{ mode: 'deny', allow: [hosts] }`.",
      anyOf: [
        { type: 'string', enum: ['allow', 'deny'] },
        { type: 'object', properties: { mode: { const: 'deny' }, allow: { type: 'array', items: { type: 'string', minLength: 1 } } }, required: ['allow'], additionalProperties: false },
      ],
    },
    localZone: str('The zone this process runs in.'),
    discovery: DISCOVERY,
  }),
};
