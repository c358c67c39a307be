import { checkLoadBalancerOptions, getLoadBalancer, listLoadBalancers } from '../balancing/registry.js';
import { resolveDiscovery } from '../discovery/config.js';
import { describe } from '../util/describe.js';
import { parseEndpoint, type Endpoint } from '../endpoint/endpoint.js';
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
import { checkNumber, checkObject, join } from '../util/checks.js';
import { MESH_CONFIG_SCHEMA, SERVICE_NAME_PATTERN } from './schema.js';
import { mergeIssues, schemaIssues } from '../util/schema-issues.js';
import { resolveFaults, type ResolvedFaults } from '../faults/spec.js';
import { RESILIENCE_DEFAULTS, RESILIENCE_KEYS, resolveResilience, type ResolvedResilience } from './resilience.js';
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

/** The documented defaults, in one place. */
export const DEFAULTS = Object.freeze({
  egress: 'allow' as const,
  loadBalancer: Object.freeze({ policy: 'round-robin', options: Object.freeze({}) }) as ResolvedLoadBalancer,
  connection: Object.freeze({
    maxConnections: 64,
    pipelining: 1,
    connectTimeoutMs: 10_000,
    keepAliveTimeoutMs: 4_000,
    interceptors: Object.freeze([]),
  }) as ResolvedConnection,
  overprovisioningFactor: 1.4 as number,
  panicThreshold: 50 as number,
  slowStartMinWeightPercent: 10 as number,
});

/** Keys of {@link MeshConfig} (and the client-only keys, checked by the client). */
export const CONFIG_KEYS = ['$schema', 'services', 'defaults', 'egress', 'localZone', 'discovery'] as const;
const SHARED_KEYS = [
  'loadBalancer',
  'connection',
  'overprovisioningFactor',
  'panicThreshold',
  'slowStart',
  'tls',
  'requireTls',
  'healthCheck',
  'faults',
  ...RESILIENCE_KEYS,
] as const;
/** Keys a service may set (`auth` is a function: code only, not in the file format). */
export const SERVICE_KEYS = ['endpoints', 'discovery', 'routes', 'localZone', 'auth', ...SHARED_KEYS] as const;
/** Keys `defaults` may set. */
export const DEFAULTS_KEYS = SHARED_KEYS;
const CONNECTION_KEYS = ['maxConnections', 'pipelining', 'connectTimeoutMs', 'keepAliveTimeoutMs', 'interceptors'] as const;

/** Service names are URL hosts: lower-case letters, digits, `-`, `_` and `.`. */
const SERVICE_NAME = new RegExp(SERVICE_NAME_PATTERN);

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
    throw new MeshConfigError(mergeIssues(structural, issues));
  };
  const root = checkObject(input, '', issues, [...CONFIG_KEYS, ...extraKeys]);
  if (!root) fail();
  const config = root as MeshConfig;

  if (config.$schema !== undefined && typeof config.$schema !== 'string') {
    issues.push({ path: '$schema', message: `expected the URL or path of proxyless's JSON Schema, found ${describe(config.$schema)}` });
  }
  const { egress, egressAllow } = resolveEgress(config.egress, DEFAULTS.egress, issues);

  let localZone: string | undefined;
  if (config.localZone !== undefined) {
    if (typeof config.localZone !== 'string' || config.localZone === '') {
      issues.push({ path: 'localZone', message: `expected a zone name, found ${describe(config.localZone)}` });
    } else localZone = config.localZone;
  }

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
    const d = checkObject(config.defaults, 'defaults', issues, DEFAULTS_KEYS);
    if (d) {
      defaultHealthCheck = resolveHealthCheck(d.healthCheck, 'defaults.healthCheck', issues);
      if (d.loadBalancer !== undefined) defaultLb = resolveLoadBalancer(d.loadBalancer, 'defaults.loadBalancer', issues);
      if (d.connection !== undefined)
        defaultConnection = resolveConnection(d.connection, 'defaults.connection', issues, DEFAULTS.connection);
      defaultFactor = checkNumber(d.overprovisioningFactor, 'defaults.overprovisioningFactor', issues, { min: 1, max: 100 }, defaultFactor);
      defaultPanic = checkNumber(d.panicThreshold, 'defaults.panicThreshold', issues, { min: 0, max: 100 }, defaultPanic);
      if (d.slowStart !== undefined) defaultSlowStart = resolveSlowStart(d.slowStart, 'defaults.slowStart', issues);
      defaultSecurity = resolveSecurityDefaults(d, 'defaults', issues);
      defaultResilience = resolveResilience(d, 'defaults', issues, RESILIENCE_DEFAULTS);
      defaultFaults = resolveFaults(d.faults, 'defaults.faults', issues) || undefined;
    }
  }
  const routesByService = new Map<string, { path: string; routes: ResolvedRoute[]; endpoints: Endpoint[] | undefined }>();

  const services = new Map<string, ResolvedService>();
  if (config.services !== undefined) {
    const s = checkObject(config.services, 'services', issues);
    for (const [name, raw] of Object.entries(s ?? {})) {
      const path = join('services', name);
      if (!SERVICE_NAME.test(name)) {
        issues.push({
          path,
          message: `a service name is a URL host: lower-case letters, digits, "-", "_" and "." (found "${name}")`,
        });
      }
      const svc = checkObject(raw, path, issues, SERVICE_KEYS);
      if (!svc) continue;
      const endpoints: Endpoint[] = [];
      if (svc.endpoints !== undefined) {
        if (!Array.isArray(svc.endpoints)) {
          issues.push({ path: join(path, 'endpoints'), message: `expected an array, found ${describe(svc.endpoints)}` });
        } else {
          const seen = new Map<string, number>();
          svc.endpoints.forEach((e, i) => {
            const endpointPath = join(join(path, 'endpoints'), i);
            const endpoint = parseEndpoint(e, endpointPath, issues);
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
          : resolveConnection(svc.connection, join(path, 'connection'), issues, defaultConnection);
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
      let serviceZone = localZone;
      if (svc.localZone !== undefined) {
        if (typeof svc.localZone !== 'string' || svc.localZone === '') {
          issues.push({ path: join(path, 'localZone'), message: `expected a zone name, found ${describe(svc.localZone)}` });
        } else serviceZone = svc.localZone;
      }
      services.set(
        name,
        Object.freeze({
          name,
          endpoints: Object.freeze(endpoints),
          loadBalancer,
          connection,
          routes: Object.freeze(routes),
          localZone: serviceZone,
          overprovisioningFactor: checkNumber(svc.overprovisioningFactor, join(path, 'overprovisioningFactor'), issues, { min: 1, max: 100 }, defaultFactor),
          panicThreshold: checkNumber(svc.panicThreshold, join(path, 'panicThreshold'), issues, { min: 0, max: 100 }, defaultPanic),
          slowStart: svc.slowStart === undefined ? defaultSlowStart : resolveSlowStart(svc.slowStart, join(path, 'slowStart'), issues),
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
    const obj = checkObject(value, path, issues);
    if (!obj) return DEFAULTS.loadBalancer;
    ({ policy, ...options } = obj);
    policyPath = join(path, 'policy');
  }
  if (typeof policy !== 'string') {
    issues.push({ path: policyPath, message: `expected a policy name, found ${describe(policy)}` });
    return DEFAULTS.loadBalancer;
  }
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

function resolveSlowStart(value: unknown, path: string, issues: ConfigIssue[]): ResolvedSlowStart | false {
  if (value === false) return false;
  const o = checkObject(value, path, issues, ['windowMs', 'minWeightPercent']);
  if (!o) return false;
  if (o.windowMs === undefined) issues.push({ path: join(path, 'windowMs'), message: 'windowMs is required' });
  return Object.freeze({
    windowMs: checkNumber(o.windowMs, join(path, 'windowMs'), issues, { min: 1, integer: true }, 1),
    minWeightPercent: checkNumber(o.minWeightPercent, join(path, 'minWeightPercent'), issues, { min: 1, max: 100 }, DEFAULTS.slowStartMinWeightPercent),
  });
}

function resolveConnection(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  base: ResolvedConnection,
): ResolvedConnection {
  const c = checkObject(value, path, issues, CONNECTION_KEYS);
  if (!c) return base;
  const intRule = { min: 1, integer: true };
  return Object.freeze({
    maxConnections: checkNumber(c.maxConnections, join(path, 'maxConnections'), issues, intRule, base.maxConnections),
    pipelining: checkNumber(c.pipelining, join(path, 'pipelining'), issues, { ...intRule, max: 100 }, base.pipelining),
    connectTimeoutMs: checkNumber(c.connectTimeoutMs, join(path, 'connectTimeoutMs'), issues, intRule, base.connectTimeoutMs),
    keepAliveTimeoutMs: checkNumber(
      c.keepAliveTimeoutMs,
      join(path, 'keepAliveTimeoutMs'),
      issues,
      intRule,
      base.keepAliveTimeoutMs,
    ),
    interceptors: resolveInterceptors(c.interceptors, join(path, 'interceptors'), issues, base.interceptors),
  });
}

/** `connection.interceptors`: an array of functions, copied and frozen (a later change to the caller's array does nothing). */
function resolveInterceptors(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  base: ResolvedConnection['interceptors'],
): ResolvedConnection['interceptors'] {
  if (value === undefined) return base;
  if (!Array.isArray(value)) {
    issues.push({ path, message: `expected an array of undici interceptors, found ${describe(value)}` });
    return base;
  }
  let ok = true;
  value.forEach((v: unknown, i) => {
    if (typeof v === 'function') return;
    ok = false;
    issues.push({ path: join(path, i), message: `expected an undici interceptor ((dispatch) => dispatch), found ${describe(v)}` });
  });
  return ok ? Object.freeze([...(value as Dispatcher.DispatcherComposeInterceptor[])]) : base;
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
