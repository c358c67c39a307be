import { checkLoadBalancerOptions, getLoadBalancer, listLoadBalancers } from '../balancing/registry.js';
import { resolveDiscovery } from '../discovery/config.js';
import { endpointOf, type Endpoint, type EndpointInput } from '../endpoint/endpoint.js';
import type { DiscoveryRef } from '../discovery/registry.js';
import { resolveHealthCheck, type ResolvedHealthCheck } from '../health/options.js';
import { MeshConfigError, type ConfigIssue } from '../errors/mesh-error.js';
import { checkRouteTargets, resolveRoutes, type ResolvedRoute } from '../routing/resolve-routes.js';
import {
  NO_SECURITY_DEFAULTS,
  resolveEgress,
  resolveSecurityDefaults,
  resolveServiceSecurity,
  type ResolvedServiceSecurity,
} from '../security/config.js';
import { asRecord, isRecord, join } from '../util/checks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import { CONNECTION_SCHEMA, LOAD_BALANCER_SCHEMA, MESH_CONFIG_SCHEMA, SERVICE_SCHEMA, SHARED_SERVICE_SCHEMA, SLOW_START_SCHEMA } from './schema.js';
import { schemaIssues } from '../util/schema-issues.js';
import { resolveFaults, type ResolvedFaults } from '../faults/spec.js';
import { RESILIENCE_DEFAULTS, resolveResilience, type ResolvedResilience } from '../resilience/options.js';
import type { ConnectionOptions, LoadBalancerOption, MeshConfig } from './types.js';
import { closestName } from '../util/suggest.js';
import type { Dispatcher } from 'undici';

/** Pool settings with every default filled in (`interceptors` frozen, empty when none). */
export type ResolvedConnection = Readonly<Required<Omit<ConnectionOptions, 'interceptors'>>> & {
  readonly interceptors: readonly Dispatcher.DispatcherComposeInterceptor[];
};

/** A load-balancing choice with its options split out. */
export interface ResolvedLoadBalancer {
  readonly policy: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/** One service's configuration, validated, with defaults applied. */
export interface ResolvedService {
  readonly name: string;
  readonly endpoints: readonly Endpoint[];
  readonly loadBalancer: ResolvedLoadBalancer;
  readonly connection: ResolvedConnection;
  /** TLS, `requireTls` and the credential hook. */
  readonly security: ResolvedServiceSecurity;
  readonly routes: readonly ResolvedRoute[];
  readonly localZone: string | undefined;
  readonly overprovisioningFactor: number;
  readonly panicThreshold: number;
  readonly slowStart: ResolvedSlowStart | false;
  /** Discovery providers in order of preference (empty: `endpoints` only). */
  readonly discovery: readonly DiscoveryRef[];
  /** Active health checking, when on. */
  readonly healthCheck: ResolvedHealthCheck | undefined;
  /** Retries, deadlines, breakers, outlier detection, bulkhead and hedging. */
  readonly resilience: ResolvedResilience;
  /** Fault injection for the whole service (a route's own `faults` replace it), when on. */
  readonly faults: ResolvedFaults | undefined;
}

/** Slow start with defaults filled in. */
export interface ResolvedSlowStart {
  readonly windowMs: number;
  readonly minWeightPercent: number;
}

/** A whole configuration, validated and frozen: what the request path reads. */
export interface ResolvedConfig {
  readonly egress: 'allow' | 'deny';
  /** Hosts reachable directly when `egress` is `'deny'` (patterns, lower-case). */
  readonly egressAllow: readonly string[];
  readonly services: ReadonlyMap<string, ResolvedService>;
}

const CONNECTION_FILL = defaultsOf(CONNECTION_SCHEMA) as unknown as ResolvedConnection;
const SHARED_FILL = defaultsOf(SHARED_SERVICE_SCHEMA) as { overprovisioningFactor: number; panicThreshold: number };

/** The documented defaults, read off the schema. */
const CONFIG_FILL = defaultsOf(MESH_CONFIG_SCHEMA) as { egress: 'allow' | 'deny' };

export const DEFAULTS = Object.freeze({
  egress: CONFIG_FILL.egress,
  loadBalancer: Object.freeze({ policy: (LOAD_BALANCER_SCHEMA as { default?: string }).default!, options: Object.freeze({}) }) as ResolvedLoadBalancer,
  connection: Object.freeze({ ...CONNECTION_FILL, interceptors: Object.freeze([...CONNECTION_FILL.interceptors]) }) as ResolvedConnection,
  overprovisioningFactor: SHARED_FILL.overprovisioningFactor,
  panicThreshold: SHARED_FILL.panicThreshold,
  slowStartMinWeightPercent: (defaultsOf(SLOW_START_SCHEMA) as { minWeightPercent: number }).minWeightPercent,
});

/** Keys of {@link MeshConfig} (and the client-only keys, checked by the client). */
export const CONFIG_KEYS = Object.keys(MESH_CONFIG_SCHEMA.properties);
/** Keys a service may set (`auth` is a function: code only, not in the file format). */
export const SERVICE_KEYS = Object.keys(SERVICE_SCHEMA.properties);
/** Keys `defaults` may set. */
export const DEFAULTS_KEYS = Object.keys(SHARED_SERVICE_SCHEMA.properties);

/**
 * Validates a configuration and fills in defaults. Collects every problem
 * and throws one {@link MeshConfigError} listing them all; returns a frozen
 * {@link ResolvedConfig} otherwise.
 *
 * @param extraKeys top-level keys that are valid but handled by the caller.
 */
export function resolveConfig(input: unknown, extraKeys: readonly string[] = []): ResolvedConfig {
  // The schema's structural issues first; the resolvers below add the rules a schema cannot say.
  const structural = schemaIssues(withoutKeys(input, extraKeys), MESH_CONFIG_SCHEMA);
  const issues: ConfigIssue[] = [];
  const fail = (): never => {
    throw new MeshConfigError([...structural, ...issues]);
  };
  // Unknown keys, types and bounds are the structural pass's; what follows
  // fills in defaults and checks what a schema cannot say.
  if (!isRecord(input)) fail();
  const config = input as MeshConfig;

  const { egress, egressAllow } = resolveEgress(config.egress, DEFAULTS.egress, issues);

  const localZone = typeof config.localZone === 'string' ? config.localZone : undefined;

  let defaultLb = DEFAULTS.loadBalancer;
  let defaultConnection = DEFAULTS.connection;
  let defaultFactor = DEFAULTS.overprovisioningFactor;
  let defaultPanic = DEFAULTS.panicThreshold;
  let defaultSlowStart: ResolvedSlowStart | false = false;
  let defaultSecurity = NO_SECURITY_DEFAULTS;
  let defaultHealthCheck: ResolvedHealthCheck | undefined;
  const globalDiscovery = resolveDiscovery(config.discovery, 'discovery', issues);
  let defaultResilience = RESILIENCE_DEFAULTS;
  let defaultFaults: ResolvedFaults | undefined;
  if (config.defaults !== undefined) {
    const d = asRecord(config.defaults);
    if (d) {
      defaultHealthCheck = resolveHealthCheck(d.healthCheck, 'defaults.healthCheck', issues);
      if (d.loadBalancer !== undefined) defaultLb = resolveLoadBalancer(d.loadBalancer, 'defaults.loadBalancer', issues);
      if (d.connection !== undefined)
        defaultConnection = resolveConnection(d.connection, DEFAULTS.connection);
      defaultFactor = numberOr(d.overprovisioningFactor, defaultFactor);
      defaultPanic = numberOr(d.panicThreshold, defaultPanic);
      if (d.slowStart !== undefined) defaultSlowStart = resolveSlowStart(d.slowStart);
      defaultSecurity = resolveSecurityDefaults(d, 'defaults', issues);
      defaultResilience = resolveResilience(d, 'defaults', issues, RESILIENCE_DEFAULTS);
      defaultFaults = resolveFaults(d.faults, 'defaults.faults', issues) || undefined;
    }
  }
  const routesByService = new Map<string, { path: string; routes: ResolvedRoute[]; endpoints: Endpoint[] | undefined }>();

  const services = new Map<string, ResolvedService>();
  if (config.services !== undefined) {
    for (const [name, raw] of Object.entries(asRecord(config.services) ?? {})) {
      const path = join('services', name);
      const svc = asRecord(raw);
      if (!svc) continue;
      const endpoints: Endpoint[] = [];
      if (svc.endpoints !== undefined) {
        if (Array.isArray(svc.endpoints)) {
          const seen = new Map<string, number>();
          svc.endpoints.forEach((e, i) => {
            const endpointPath = join(join(path, 'endpoints'), i);
            // A malformed entry was reported by the structural pass; only its URL is checked here.
            const endpoint = typeof e === 'string' || isRecord(e) ? endpointOf(e as EndpointInput, endpointPath, issues) : undefined;
            if (!endpoint) return;
            const first = seen.get(endpoint.url);
            if (first !== undefined) {
              issues.push({
                path: endpointPath,
                message: `duplicate endpoint ${endpoint.url} (also at ${join(join(path, 'endpoints'), first)})`,
              });
              return;
            }
            seen.set(endpoint.url, i);
            endpoints.push(endpoint);
          });
        }
      }
      const loadBalancer =
        svc.loadBalancer === undefined ? defaultLb : resolveLoadBalancer(svc.loadBalancer, join(path, 'loadBalancer'), issues);
      const connection =
        svc.connection === undefined
          ? defaultConnection
          : resolveConnection(svc.connection, defaultConnection);
      const routes = resolveRoutes(svc.routes, join(path, 'routes'), issues);
      routesByService.set(name, {
        path: join(path, 'routes'),
        routes,
        endpoints: Array.isArray(svc.endpoints) ? endpoints : undefined,
      });
      const security = resolveServiceSecurity(svc, endpoints, path, issues, defaultSecurity);
      const discovery =
        resolveDiscovery(svc.discovery, join(path, 'discovery'), issues) ??
        (svc.endpoints === undefined ? (globalDiscovery ?? []) : []);
      const healthCheck =
        svc.healthCheck === undefined ? defaultHealthCheck : resolveHealthCheck(svc.healthCheck, join(path, 'healthCheck'), issues);
      const faults = resolveFaults(svc.faults, join(path, 'faults'), issues);
      const serviceZone = typeof svc.localZone === 'string' ? svc.localZone : localZone;
      services.set(
        name,
        Object.freeze({
          name,
          endpoints: Object.freeze(endpoints),
          loadBalancer,
          connection,
          routes: Object.freeze(routes),
          localZone: serviceZone,
          overprovisioningFactor: numberOr(svc.overprovisioningFactor, defaultFactor),
          panicThreshold: numberOr(svc.panicThreshold, defaultPanic),
          slowStart: svc.slowStart === undefined ? defaultSlowStart : resolveSlowStart(svc.slowStart),
          security,
          discovery,
          healthCheck,
          resilience: resolveResilience(svc, path, issues, defaultResilience),
          faults: faults === undefined ? defaultFaults : faults || undefined,
        }),
      );
    }
  }
  const names = new Set(services.keys());
  for (const [name, r] of routesByService) checkRouteTargets(r.routes, r.path, name, r.endpoints, names, issues);

  if (issues.length > 0 || structural.length > 0) fail();
  return Object.freeze({ egress, egressAllow, services });
}

/** A shallow copy of a config object without the client-only keys (not part of the schema). */
function withoutKeys(input: unknown, keys: readonly string[]): unknown {
  if (keys.length === 0 || typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const copy: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const key of keys) delete copy[key];
  return copy;
}

function resolveLoadBalancer(value: unknown, path: string, issues: ConfigIssue[]): ResolvedLoadBalancer {
  let policy: unknown;
  let options: Record<string, unknown> = {};
  let policyPath = path;
  if (typeof value === 'string') policy = value;
  else {
    const obj = asRecord(value);
    if (!obj) return DEFAULTS.loadBalancer;
    ({ policy, ...options } = obj);
    policyPath = join(path, 'policy');
  }
  // Not a name (or an empty one): the structural pass reported it.
  if (typeof policy !== 'string' || policy === '') return DEFAULTS.loadBalancer;
  const definition = getLoadBalancer(policy);
  if (!definition) {
    const known = listLoadBalancers();
    const near = closestName(policy, known);
    issues.push({
      path: policyPath,
      message: `unknown load balancer "${policy}" (${near === undefined ? '' : `did you mean "${near}"? `}known: ${known.join(', ')})`,
    });
    return DEFAULTS.loadBalancer;
  }
  const filled = checkLoadBalancerOptions(definition, options, path, issues);
  return Object.freeze({ policy, options: Object.freeze(filled) });
}

function resolveSlowStart(value: unknown): ResolvedSlowStart | false {
  const o = asRecord(value);
  if (!o) return false;
  return Object.freeze({ windowMs: numberOr(o.windowMs, 1), minWeightPercent: numberOr(o.minWeightPercent, DEFAULTS.slowStartMinWeightPercent) });
}

function resolveConnection(value: unknown, base: ResolvedConnection): ResolvedConnection {
  const c = asRecord(value);
  if (!c) return base;
  return Object.freeze({
    maxConnections: numberOr(c.maxConnections, base.maxConnections),
    pipelining: numberOr(c.pipelining, base.pipelining),
    connectTimeoutMs: numberOr(c.connectTimeoutMs, base.connectTimeoutMs),
    keepAliveTimeoutMs: numberOr(c.keepAliveTimeoutMs, base.keepAliveTimeoutMs),
    // A service's list replaces the inherited one; copied and frozen (a later change to the caller's array does nothing).
    interceptors: Array.isArray(c.interceptors) ? Object.freeze([...c.interceptors]) : base.interceptors,
  });
}

/** `value` when it is a number, else `fallback` (a bad value was reported by the structural pass). */
function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/**
 * The pool settings of a snapshot: the numbers, and how many interceptors
 * there are when there are any (functions are not JSON).
 */
export function connectionSnapshot(c: ResolvedConnection): Record<string, number> {
  const { interceptors, ...numbers } = c;
  return interceptors.length === 0 ? numbers : { ...numbers, interceptors: interceptors.length };
}

/** The type of the `loadBalancer` option, re-exported for convenience. */
export type { LoadBalancerOption };
