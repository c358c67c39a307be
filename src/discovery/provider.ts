import { isCodeValue } from '../util/schema-blocks.js';
import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from '../errors/mesh-error.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { EndpointInput } from '../endpoint/endpoint.js';

/**
 * An endpoint as a discovery provider reports it: either what configuration
 * accepts ({@link EndpointInput}: a URL string or `{ url, weight, ... }`), or
 * an address and a port with the same attributes.
 */
export type DiscoveredEndpoint =
  | EndpointInput
  | {
      /** Host name or IP address (IPv6 without brackets). */
      address: string;
      /** TCP port, 1-65535. */
      port: number;
      /** `'http'` (default) or `'https'`. */
      protocol?: 'http' | 'https';
      /** Relative share of traffic, > 0. Default 1. */
      weight?: number;
      /** Locality zone. */
      zone?: string;
      /** Priority level, 0 (default) is the highest. */
      priority?: number;
      /** Labels used by route subsets. */
      labels?: Record<string, string>;
    };

/**
 * One endpoint set for a service, as pushed by a provider. Each entry may
 * carry a `key` naming where it came from (a file path and index, an etcd
 * key); events about a rejected entry name that key.
 */
export interface DiscoveredEntry {
  /** Where the entry came from, for events: `orders.2`, `/services/orders/a1`. */
  readonly key: string;
  /** The entry itself, validated by the registry. */
  readonly endpoint: DiscoveredEndpoint;
}

/**
 * What a provider pushes to. The mesh hands one to
 * {@link DiscoveryProvider.watch} per service.
 */
export interface DiscoveryListener {
  /**
   * The complete current endpoint set of the service (it replaces the
   * previous one). Entries may be {@link DiscoveredEndpoint}s or
   * {@link DiscoveredEntry}s; invalid entries are rejected one by one (with a
   * `discovery-rejected` event) and the rest applies.
   */
  update(endpoints: readonly (DiscoveredEndpoint | DiscoveredEntry)[]): void;
  /**
   * The source failed (unreachable, unreadable, invalid as a whole): the set
   * is unknown. The mesh keeps the last known good set (or falls back to the
   * next provider) until the next {@link DiscoveryListener.update}.
   */
  error(error: Error): void;
  /**
   * One raw entry could not even be parsed (for example an etcd value that
   * is not JSON). The rest of the update applies. `key` names the entry.
   */
  reject(key: string, message: string): void;
}

/** What the mesh lends a provider: its clock, random source and logger. */
export interface DiscoveryEnvironment {
  /** The mesh clock: use it for every timer (refresh intervals, debounce, retries). */
  readonly clock: Clock;
  /** A random source in [0, 1) for jitter. */
  readonly random: () => number;
  /** The mesh logger. */
  readonly logger: Logger;
}

/**
 * A source of endpoints. Tiny on purpose: a provider pushes endpoint sets per
 * service and reports errors; the mesh's registry does the rest (validation,
 * merging several providers in order, keeping the last known good set,
 * refusing empty sets, swapping snapshots, events).
 *
 * The mesh calls {@link DiscoveryProvider.watch} once per service it backs
 * and calls the returned function when it no longer needs that service; it
 * calls {@link DiscoveryProvider.close} when the provider leaves the
 * configuration or the mesh closes. Built-ins: {@link staticDiscovery},
 * {@link fileDiscovery}, {@link dnsDiscovery}; see
 * docs/discovery/writing-a-provider.md.
 *
 * @example
 * ```ts
 * const fixed: DiscoveryProvider = {
 *   source: 'fixed',
 *   watch(service, listener) {
 *     listener.update([{ address: '127.0.0.1', port: 8080 }]);
 *     return () => {};
 *   },
 *   close() {},
 * };
 * ```
 */
export interface DiscoveryProvider {
  /** A short name of the source for events, snapshot and health: `file:endpoints.json`. */
  readonly source: string;
  /**
   * When true, an empty set pushed by this (healthy) provider is applied.
   * Default false: an empty set is ignored (with an event) and the last
   * known good set stays, because "no endpoints" from a control plane is far
   * more often a fault than the truth.
   */
  readonly allowEmpty?: boolean;
  /**
   * Starts pushing the endpoint set of `service` to `listener` (the first
   * push may be synchronous). Returns a function that stops it.
   */
  watch(service: string, listener: DiscoveryListener, env: DiscoveryEnvironment): () => void;
  /** Stops every watch and frees timers, sockets and file watches. */
  close(): void | Promise<void>;
}

/**
 * A discovery provider type registered by name with
 * {@link registerDiscoveryProvider}, so a configuration (for example a JSON
 * file) can say `discovery: { type: 'file', path: 'endpoints.json' }`.
 *
 * Describe the options (everything beside `type`) with
 * {@link DiscoveryProviderDefinition.options}, a TypeBox object schema: the
 * mesh checks a spec against it (each problem named by its full path, e.g.
 * `discovery.everyMs`), fills in its `default`s and hands the result to
 * {@link DiscoveryProviderDefinition.create}. Keep
 * {@link DiscoveryProviderDefinition.validate} for rules a schema cannot say.
 */
export interface DiscoveryProviderDefinition {
  /**
   * Builds a provider from the spec's options (everything but `type`),
   * checked against {@link DiscoveryProviderDefinition.options} with its
   * defaults filled in.
   */
  create(options: Record<string, unknown>): DiscoveryProvider;
  /**
   * The schema of the options, a TypeBox object schema
   * (`Type.Object({...}, { additionalProperties: false })`, from
   * `@sinclair/typebox`, a dependency of proxyless): types, bounds, required
   * options and defaults (`default:`) in one place. Prefer it to
   * {@link DiscoveryProviderDefinition.validate}. Without it any options are
   * accepted and passed through as given.
   */
  readonly options?: TSchema;
  /**
   * Rules a schema cannot say (one option against another); returns the
   * problems with paths relative to the spec object. It sees the options
   * with the schema's defaults filled in, and runs even when the schema found
   * problems elsewhere, so check the type of a value before comparing it; an
   * issue about a path the schema already reported is dropped. A definition
   * without {@link DiscoveryProviderDefinition.options} may check everything
   * here, as before schemas existed.
   */
  validate?(options: Record<string, unknown>): ConfigIssue[];
}

/** True when `value` looks like a {@link DiscoveryProvider} instance. */
export function isDiscoveryProvider(value: unknown): value is DiscoveryProvider {
  return isCodeValue('provider', value);
}
