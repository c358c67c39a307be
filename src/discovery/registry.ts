import type { HealthEventInput } from '../telemetry/events.js';
import { debugChannel } from '../util/logger.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { isEntry, normalizeDiscovered } from './normalize.js';
import {
  getDiscoveryProvider,
} from './provider-registry.js';
import {
  type DiscoveredEndpoint,
  type DiscoveredEntry,
  type DiscoveryEnvironment,
  type DiscoveryListener,
  type DiscoveryProvider,
} from './provider.js';

const trace = debugChannel('discovery');

/**
 * Where a service's endpoints come from, as validated configuration: a
 * provider instance, or a spec of a registered provider type (instantiated
 * by the registry, one instance per distinct spec).
 */
export type DiscoveryRef =
  | { readonly kind: 'instance'; readonly provider: DiscoveryProvider }
  | { readonly kind: 'spec'; readonly type: string; readonly options: Readonly<Record<string, unknown>>; readonly key: string };

/** What the registry needs to know of one service. */
export interface DiscoveryPlan {
  /** Providers in order of preference (the first healthy one with endpoints wins). */
  readonly discovery: readonly DiscoveryRef[];
  /** Endpoints written in the configuration: the last fallback (applied even when empty). */
  readonly endpoints: readonly Endpoint[];
}

/** The state of one source of a service, in `snapshot()` and `mesh.health()`. */
export interface DiscoverySourceStatus {
  /** The provider's {@link DiscoveryProvider.source}, or `config` for `endpoints`. */
  readonly source: string;
  /** `pending` until its first push, `ok` after an update, `failed` after an error. */
  readonly state: 'pending' | 'ok' | 'failed';
  /** Endpoints in its last accepted update. */
  readonly endpoints: number;
  /** The last error, while failed. */
  readonly error?: string;
}

/** The discovery state of one service. */
export interface ServiceDiscoveryStatus {
  /** The source whose set is applied now, or `null` when none has delivered (or all failed). */
  readonly active: string | null;
  /**
   * True when the applied set is the last known good one kept while the
   * preferred source is failed or empty (a fallback source, or none).
   */
  readonly stale: boolean;
  /** Every source backing the service, in order of preference, with its state. */
  readonly sources: readonly DiscoverySourceStatus[];
}

interface Source {
  readonly provider: DiscoveryProvider | undefined;
  readonly name: string;
  readonly allowEmpty: boolean;
  state: 'pending' | 'ok' | 'failed';
  endpoints: readonly Endpoint[];
  error: string | undefined;
  stop: (() => void) | undefined;
  /** Rejections already reported (key → message), so a bad entry is reported once, not on every push. */
  reported?: Map<string, string>;
  /** Keys rejected since the last push. */
  round?: Set<string>;
  /** An ignored empty set was reported (until a non-empty push). */
  emptyReported?: boolean;
}

interface ServiceEntry {
  sources: Source[];
  applied: readonly Endpoint[];
  active: Source | undefined;
}

/** What the registry tells its owner. */
export interface RegistryHooks {
  /** The applied set of `service` changed (not called during {@link DiscoveryRegistry.sync}). */
  changed(service: string): void;
  /** A discovery event (`discovery-failed`, `discovery-recovered`, `discovery-rejected`). */
  event(event: HealthEventInput): void;
  /** A provider delivered a set (`endpoints` valid entries) or reported an error: for metrics. */
  metric?(event: { kind: 'update'; service: string; provider: string; endpoints: number } | { kind: 'error'; service: string; provider: string; error: string }): void;
}

/**
 * Merges discovery providers per service. Providers push; the registry
 * validates each entry (rejecting bad ones one by one), picks the first
 * healthy source in order that has endpoints (or may be empty), keeps the
 * last known good set when sources fail, and tells its owner when a
 * service's applied set changed. Control side only: nothing here runs per
 * request.
 */
export class DiscoveryRegistry {
  readonly #env: DiscoveryEnvironment;
  readonly #hooks: RegistryHooks;
  readonly #services = new Map<string, ServiceEntry>();
  /** Providers built from specs, by spec key. */
  readonly #fromSpecs = new Map<string, DiscoveryProvider>();
  /** Every provider in use. */
  #providers = new Set<DiscoveryProvider>();
  #syncing = false;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  constructor(env: DiscoveryEnvironment, hooks: RegistryHooks) {
    this.#env = env;
    this.#hooks = hooks;
  }

  /** The applied endpoint set of a service (empty when unknown). */
  endpoints(service: string): readonly Endpoint[] {
    return this.#services.get(service)?.applied ?? [];
  }

  /** The discovery state of a service, or `undefined` when it only has configured endpoints. */
  status(service: string): ServiceDiscoveryStatus | undefined {
    const entry = this.#services.get(service);
    if (!entry || entry.sources.every((s) => s.provider === undefined)) return undefined;
    return {
      active: entry.active?.name ?? null,
      stale: entry.active !== entry.sources[0] && entry.sources[0]?.provider !== undefined,
      sources: entry.sources.map((s) => ({
        source: s.name,
        state: s.state,
        endpoints: s.endpoints.length,
        ...(s.error === undefined ? {} : { error: s.error }),
      })),
    };
  }

  /** True when every provider of every service has answered once (with a set or an error). */
  get settled(): boolean {
    for (const entry of this.#services.values()) {
      for (const s of entry.sources) if (s.provider !== undefined && s.state === 'pending') return false;
    }
    return true;
  }

  /** Calls `fn` once when {@link DiscoveryRegistry.settled} becomes true; returns a canceller. */
  onSettled(fn: () => void): () => void {
    if (this.settled) {
      fn();
      return () => {};
    }
    this.#waiters.add(fn);
    return () => this.#waiters.delete(fn);
  }

  #checkSettled(): void {
    if (this.#waiters.size === 0 || !this.settled) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const fn of waiters) fn();
  }

  /**
   * Makes the watches match a validated configuration: starts new sources,
   * stops removed ones, closes providers no longer used, and computes each
   * service's applied set. Synchronous pushes made while starting are
   * applied before it returns; the owner reads {@link DiscoveryRegistry.endpoints}
   * afterwards (no `changed` calls during a sync).
   */
  sync(plans: ReadonlyMap<string, DiscoveryPlan>): void {
    this.#syncing = true;
    try {
      const used = new Set<DiscoveryProvider>();
      const usedSpecs = new Set<string>();
      const starts: { service: string; source: Source }[] = [];
      for (const [service, plan] of plans) {
        const entry = this.#services.get(service) ?? { sources: [], applied: [], active: undefined };
        this.#services.set(service, entry);
        const next: Source[] = [];
        for (const ref of plan.discovery) {
          const provider = this.#instantiate(ref);
          if (ref.kind === 'spec') usedSpecs.add(ref.key);
          used.add(provider);
          let source = entry.sources.find((s) => s.provider === provider);
          if (!source) {
            source = {
              provider,
              name: provider.source,
              allowEmpty: provider.allowEmpty === true,
              state: 'pending',
              endpoints: [],
              error: undefined,
              stop: undefined,
            };
            starts.push({ service, source });
          }
          next.push(source);
        }
        if (plan.endpoints.length > 0 || plan.discovery.length === 0) {
          next.push({
            provider: undefined,
            name: 'config',
            allowEmpty: true,
            state: 'ok',
            endpoints: plan.endpoints,
            error: undefined,
            stop: undefined,
          });
        }
        for (const old of entry.sources) if (!next.includes(old)) old.stop?.();
        entry.sources = next;
      }
      for (const [service, entry] of this.#services) {
        if (plans.has(service)) continue;
        for (const s of entry.sources) s.stop?.();
        this.#services.delete(service);
      }
      for (const { service, source } of starts) this.#start(service, source);
      for (const key of [...this.#fromSpecs.keys()]) if (!usedSpecs.has(key)) this.#fromSpecs.delete(key);
      const unused = [...this.#providers].filter((p) => !used.has(p));
      this.#providers = used;
      for (const p of unused) void this.#closeProvider(p);
      for (const service of plans.keys()) this.#select(service, false);
    } finally {
      this.#syncing = false;
    }
    this.#checkSettled();
  }

  /** Stops every watch and closes every provider. */
  async close(): Promise<void> {
    this.#closed = true;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const fn of waiters) fn();
    for (const entry of this.#services.values()) for (const s of entry.sources) s.stop?.();
    this.#services.clear();
    const providers = [...this.#providers];
    this.#providers.clear();
    this.#fromSpecs.clear();
    await Promise.all(providers.map((p) => this.#closeProvider(p)));
  }

  #instantiate(ref: DiscoveryRef): DiscoveryProvider {
    if (ref.kind === 'instance') return ref.provider;
    let provider = this.#fromSpecs.get(ref.key);
    if (!provider) {
      const definition = getDiscoveryProvider(ref.type);
      try {
        if (!definition) throw new Error(`discovery provider type "${ref.type}" is not registered`);
        provider = definition.create({ ...ref.options });
      } catch (error) {
        // A factory that throws must not break a config update half-way: the source reports as failed.
        provider = failingProvider(ref.type, error instanceof Error ? error : new Error(String(error)));
      }
      this.#fromSpecs.set(ref.key, provider);
    }
    return provider;
  }

  async #closeProvider(provider: DiscoveryProvider): Promise<void> {
    try {
      await provider.close();
    } catch (error) {
      this.#env.logger.warn({ err: error, source: provider.source }, 'proxyless: a discovery provider failed to close');
    }
  }

  #start(service: string, source: Source): void {
    const listener = new SourceListener(this, service, source);
    try {
      const stop = source.provider!.watch(service, listener, this.#env);
      const stopWatch = () => {
        listener.stopped = true;
        try {
          stop();
        } catch (error) {
          this.#env.logger.warn({ err: error, source: source.name }, 'proxyless: a discovery watch failed to stop');
        }
      };
      source.stop = stopWatch;
    } catch (error) {
      listener.error(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** @internal A source pushed a set. */
  pushed(service: string, source: Source, items: readonly (DiscoveredEndpoint | DiscoveredEntry)[]): void {
    if (this.#closed) return;
    const endpoints: Endpoint[] = [];
    const seen = new Set<string>();
    items.forEach((item, i) => {
      const key = isEntry(item) ? item.key : String(i);
      const { endpoint, issues } = normalizeDiscovered(isEntry(item) ? item.endpoint : item, key);
      if (!endpoint) {
        this.rejected(service, source, key, issues.map((x) => `${x.path}: ${x.message}`).join('; '));
        return;
      }
      if (seen.has(endpoint.url)) {
        this.rejected(service, source, key, `duplicate endpoint ${endpoint.url}`);
        return;
      }
      seen.add(endpoint.url);
      endpoints.push(endpoint);
    });
    // Entries fixed since the last push may be reported again if they break again.
    if (source.reported) for (const key of source.reported.keys()) if (!source.round?.has(key)) source.reported.delete(key);
    source.round?.clear();
    const wasFailed = source.state === 'failed';
    source.state = 'ok';
    source.error = undefined;
    source.endpoints = endpoints;
    if (wasFailed) this.#hooks.event({ type: 'discovery-recovered', service, source: source.name, reason: `${source.name} is back` });
    const ignoredEmpty = endpoints.length === 0 && !source.allowEmpty;
    const reportEmpty = ignoredEmpty && !source.emptyReported;
    source.emptyReported = ignoredEmpty;
    if (reportEmpty) {
      this.#hooks.event({
        type: 'discovery-rejected',
        service,
        source: source.name,
        reason: `${source.name} reported no endpoints; ignored (set allowEmpty to apply an empty set)`,
      });
    }
    trace('%s: %s pushed %d endpoints', service, source.name, endpoints.length);
    this.#hooks.metric?.({ kind: 'update', service, provider: source.name, endpoints: endpoints.length });
    this.#select(service, !this.#syncing);
    if (!this.#syncing) this.#checkSettled();
  }

  /** @internal A source failed. */
  failed(service: string, source: Source, error: Error): void {
    if (this.#closed) return;
    const message = error.message || String(error);
    const transition = source.state !== 'failed' || source.error !== message;
    source.state = 'failed';
    source.error = message;
    this.#hooks.metric?.({ kind: 'error', service, provider: source.name, error: errorName(error) });
    const entry = this.#services.get(service);
    if (!entry) return;
    this.#select(service, !this.#syncing);
    if (!this.#syncing) this.#checkSettled();
    if (!transition) return;
    const kept =
      entry.active && entry.active !== source
        ? `using ${entry.active.name} (${entry.applied.length} endpoints)`
        : `keeping the last known good set (${entry.applied.length} endpoints)`;
    trace('%s: %s failed: %s', service, source.name, message);
    this.#hooks.event({
      type: 'discovery-failed',
      service,
      source: source.name,
      reason: `${source.name} failed: ${message}; ${kept}`,
    });
  }

  /** @internal An entry was rejected. */
  rejected(service: string, source: Source, key: string, message: string): void {
    if (this.#closed) return;
    (source.round ??= new Set()).add(key);
    source.reported ??= new Map();
    if (source.reported.get(key) === message) return; // already reported, still bad
    source.reported.set(key, message);
    this.#hooks.event({ type: 'discovery-rejected', service, source: source.name, key, reason: `${source.name} ${key}: ${message}` });
  }

  /** Chooses the source to apply and, when the set changed, tells the owner. */
  #select(service: string, notify: boolean): void {
    const entry = this.#services.get(service);
    if (!entry) return;
    const chosen = entry.sources.find((s) => s.state === 'ok' && (s.endpoints.length > 0 || s.allowEmpty));
    entry.active = chosen;
    if (!chosen) return; // keep the last known good set
    if (sameEndpoints(entry.applied, chosen.endpoints)) return;
    entry.applied = chosen.endpoints;
    if (!notify) return;
    try {
      this.#hooks.changed(service);
    } catch (error) {
      // A throwing balancer must not break the provider that pushed.
      this.#env.logger.error({ err: error, service }, 'proxyless: applying discovered endpoints failed');
    }
  }
}

/** The listener handed to a provider for one service. */
class SourceListener implements DiscoveryListener {
  stopped = false;
  constructor(
    readonly registry: DiscoveryRegistry,
    readonly service: string,
    readonly source: Source,
  ) {}

  update(endpoints: readonly (DiscoveredEndpoint | DiscoveredEntry)[]): void {
    if (this.stopped) return;
    if (!Array.isArray(endpoints)) {
      this.error(new TypeError('a provider must push an array of endpoints'));
      return;
    }
    this.registry.pushed(this.service, this.source, endpoints);
  }

  error(error: Error): void {
    if (this.stopped) return;
    this.registry.failed(this.service, this.source, error instanceof Error ? error : new Error(String(error)));
  }

  reject(key: string, message: string): void {
    if (this.stopped) return;
    this.registry.rejected(this.service, this.source, key, message);
  }
}

function failingProvider(type: string, error: Error): DiscoveryProvider {
  return {
    source: type,
    watch(_service, listener) {
      listener.error(new Error(`could not create the "${type}" provider: ${error.message}`));
      return () => {};
    },
    close() {},
  };
}

function endpointKey(e: Endpoint): string {
  return `${e.url}|${e.weight}|${e.zone ?? ''}|${e.priority}|${JSON.stringify(e.labels)}`;
}

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (endpointKey(a[i]!) !== endpointKey(b[i]!)) return false;
  return true;
}

/** A short, stable name for an error in metrics: its `code`, else its `name`. */
function errorName(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name || 'Error';
}
