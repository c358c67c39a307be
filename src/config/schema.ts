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

import { Type, type Static } from '@sinclair/typebox';
import type { Dispatcher } from 'undici';
import { FAULT_SPEC_SCHEMA } from '../faults/spec.js';
import { BUILTIN_BALANCERS } from '../balancing/builtins.js';
import { BUILTIN_DISCOVERY } from '../discovery/builtins.js';
import type { DiscoverySpec } from '../discovery/config.js';
import type { DiscoveryProvider } from '../discovery/provider.js';
import { ENDPOINT_INPUT_SCHEMA } from '../endpoint/schema.js';
import { HEALTH_CHECK_SCHEMA } from '../health/schema.js';
import { RESILIENCE_PROPERTIES } from '../resilience/schema.js';
import { ROUTE_SCHEMA } from '../routing/schema.js';
import { EGRESS_SCHEMA, TLS_SCHEMA } from '../security/schema.js';
import type { AuthHook } from '../security/types.js';
import { toJsonSchema, namedChoices, PUBLISHED_AS, type JsonSchema } from '../util/json-schema.js';
import { bool, code, described, int, num, opt, orFalse, percent, str } from '../util/schema-blocks.js';

// ---- fault injection (the fragment is in src/faults/spec.ts) ----

export { FAULT_ERROR_NAMES, FAULT_ERROR_SCHEMA, FAULT_SPEC_SCHEMA } from '../faults/spec.js';

const FAULTS = orFalse(FAULT_SPEC_SCHEMA);

// ---- security (the fragment is in src/security/schema.ts) ----

export {
  TLS_SOURCE_SCHEMA,
  IDENTITY_SCHEMA,
  TLS_WATCH_SCHEMA,
  TLS_SCHEMA,
  EGRESS_POLICY_SCHEMA,
  EGRESS_SCHEMA,
} from '../security/schema.js';

// ---- health checking ----

export { HEALTH_CHECK_SCHEMA } from '../health/schema.js';

// ---- resilience (the fragment is in src/resilience/schema.ts) ----

export {
  RETRY_CONDITION_NAMES,
  RETRY_CONDITION_SCHEMA,
  BACKOFF_SCHEMA,
  RETRY_BUDGET_SCHEMA,
  RETRY_SCHEMA,
  TIMEOUT_SCHEMA,
  BREAKER_SETTINGS_SCHEMA,
  CIRCUIT_BREAKER_SCHEMA,
  SUCCESS_RATE_SCHEMA,
  FAILURE_PERCENTAGE_SCHEMA,
  OUTLIER_DETECTION_SCHEMA,
  BULKHEAD_SCHEMA,
  HEDGE_SCHEMA,
  REQUEST_OVERRIDE_SCHEMA,
  RESILIENCE_SCHEMA,
} from '../resilience/schema.js';

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
    ...described('A policy name, or `{ policy, ...options }`. See docs/load-balancing.md.', 'round-robin'),
    examples: [...LB_POLICIES],
    [PUBLISHED_AS]: () => namedChoices('policy', BUILTIN_BALANCERS, 'load-balancing policy', true),
  },
);

/** `connection`. */
export const CONNECTION_SCHEMA = Type.Object(
  {
    /** Most sockets per endpoint. Default 64. */
    maxConnections: opt(int('Most sockets per endpoint.', 1, undefined, 64)),
    /** Requests pipelined per socket (1: no pipelining). Default 1. */
    pipelining: opt(int('Requests pipelined per socket.', 1, 100, 1)),
    /** Time to establish a connection, in milliseconds. Default 10,000. */
    connectTimeoutMs: opt(int('Time to connect, in milliseconds.', 1, undefined, 10_000)),
    /** How long an idle socket is kept, in milliseconds (undici's default). Default 4,000. */
    keepAliveTimeoutMs: opt(int('How long an idle socket is kept, in milliseconds.', 1, undefined, 4_000)),
    /**
     * undici `compose` interceptors (code only), applied to each endpoint's
     * pool: every try (first try, retry, hedge, requeue) passes through them
     * with the endpoint's own origin, and the mesh's TLS, mTLS identity
     * checks and pool settings stay. Same order as undici's
     * `dispatcher.compose(a, b)`: the last one sees the request first.
     * A service's list replaces the one in `defaults`. Health checks do not
     * pass through them. See docs/getting-started.md#interceptors. Default [].
     */
    interceptors: opt(
      Type.Array(
        code<Dispatcher.DispatcherComposeInterceptor>('function', 'An undici interceptor: (dispatch) => dispatch (code only).'),
        described("undici compose interceptors applied to each endpoint's pool (code only).", []),
      ),
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
    minWeightPercent: opt(num('Starting weight, in percent of the configured weight.', 1, 100, 10)),
  },
  { description: 'Ramp the weight of new endpoints.', additionalProperties: false },
);

// ---- routes (the fragment is in src/routing/schema.ts) ----

export {
  STRING_MATCH_SCHEMA,
  PATH_MATCH_SCHEMA,
  ROUTE_MATCH_SCHEMA,
  SPLIT_DESTINATION_SCHEMA,
  ROUTE_SCHEMA,
} from '../routing/schema.js';

// ---- endpoints and discovery ----

export { ENDPOINT_INPUT_SCHEMA } from '../endpoint/schema.js';

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
  /** The load-balancing policy: a name or `{ policy, ...options }`. Default 'round-robin'. */
  loadBalancer: opt(LOAD_BALANCER_SCHEMA),
  /** Pool settings for each endpoint. */
  connection: opt(CONNECTION_SCHEMA),
  /**
   * Envoy's overprovisioning factor for priority and locality spill-over: a
   * level whose healthy share times this factor is at least 100% keeps all its
   * traffic. Default 1.4.
   */
  overprovisioningFactor: opt(num("Envoy's overprovisioning factor for priority and locality spill-over.", 1, 100, 1.4)),
  /**
   * Panic threshold in percent: when fewer endpoints than this (after the
   * overprovisioning factor) are usable, use all endpoints rather than
   * overload the few. 0 disables. Default 50.
   */
  panicThreshold: opt(percent('Panic threshold in percent (0 disables).', 50)),
  /** Ramp the weight of newly added endpoints over a window. Default off. */
  slowStart: opt(orFalse(SLOW_START_SCHEMA, false)),
  /**
   * TLS and mTLS for `https://` endpoints; a service's settings are merged
   * field by field over `defaults.tls`, and `false` turns the defaults off.
   * See docs/security.md.
   */
  tls: opt(orFalse(TLS_SCHEMA)),
  /** Refuse plaintext (`http://`) endpoints. Default `false`; implied by `tls.identity`. */
  requireTls: opt(bool('Refuse plaintext endpoints. Default false.')),
  /** Active health checking of the endpoints. Default off. */
  healthCheck: opt(orFalse(HEALTH_CHECK_SCHEMA, false)),
  /**
   * Istio-style fault injection, applied in the client before sending: delay
   * and/or abort a share of requests. A route's `faults` replace these. Default
   * off (`false`). See docs/fault-injection.md.
   */
  faults: opt(FAULTS),
  ...RESILIENCE_PROPERTIES,
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
