import type { DiscoveredEndpoint, DiscoveredEntry, DiscoveryListener, DiscoveryProvider } from '../discovery/provider.js';

/** One thing a {@link FakeDiscovery} did. */
export interface DiscoveryRecord {
  /** Test-clock milliseconds. */
  time: number;
  /** The service concerned. */
  service: string;
  /**
   * `push`: a set was pushed to the registry; `ignored-empty`: an empty set
   * was pushed and the registry ignores it (the provider does not allow
   * empty sets); `fail`: the provider failed; `recover`: it came back.
   */
  kind: 'push' | 'ignored-empty' | 'fail' | 'recover';
  /** The endpoints pushed (for `push` and `ignored-empty`). */
  endpoints?: (DiscoveredEndpoint | DiscoveredEntry)[];
  /** The failure (for `fail`). */
  error?: Error;
}

/** Options of {@link FakeDiscovery}, given as {@link TestMeshOptions.discovery}. */
export interface FakeDiscoveryOptions {
  /**
   * Apply empty sets ({@link DiscoveryProvider.allowEmpty}). Default false:
   * as for any provider, the registry ignores an empty set (with a
   * `discovery-rejected` event) and keeps serving what it had.
   */
  allowEmpty?: boolean;
}

/** What a {@link FakeDiscovery} needs from its test mesh. */
export interface DiscoveryHost {
  /** Test-clock milliseconds. */
  now(): number;
  /**
   * Makes sure the mesh watches `service` through this provider (a service
   * configured with static `endpoints` only gets it as its first source);
   * throws when the configuration has no such service.
   */
  adopt(service: string): void;
}

/**
 * A real {@link DiscoveryProvider} the test controls: push endpoint sets per
 * service, make it fail, bring it back. {@link createTestMesh} puts it in
 * place of every discovery provider of your configuration (top-level and
 * per service), so a test never reaches a real DNS server, file or etcd,
 * and everything it pushes goes through proxyless's discovery registry with
 * the registry's own rules:
 *
 * - entries are validated one by one: an invalid entry is rejected alone,
 *   with a `discovery-rejected` health event, and the rest applies;
 * - a failure keeps the last known good set, or falls back to the service's
 *   next source (its configured `endpoints`), with `discovery-failed`, and
 *   the next push or {@link FakeDiscovery.recover} gives `discovery-recovered`;
 * - an empty set is ignored (`discovery-rejected`) unless the provider
 *   allows empty sets ({@link FakeDiscoveryOptions.allowEmpty}).
 *
 * @example
 * ```ts
 * const t = createTestMesh(productionConfig);   // its dnsDiscovery() is never called
 * await t.discovery.push('orders', ['http://10.0.0.3:8080']);
 * t.discovery.fail('orders', new Error('etcd unreachable'));   // the set stays
 * ```
 */
export class FakeDiscovery implements DiscoveryProvider {
  /** The name of this source in events, `snapshot()` and `health()`: `fake`. */
  readonly source = 'fake';
  /** Whether the registry applies an empty set from this provider (see {@link FakeDiscoveryOptions.allowEmpty}). */
  readonly allowEmpty: boolean;
  /** Everything pushed, ignored, failed and recovered, in order. */
  readonly history: DiscoveryRecord[] = [];
  readonly #host: DiscoveryHost;
  /** The last set pushed per service (what a new watch is told first). */
  readonly #current = new Map<string, (DiscoveredEndpoint | DiscoveredEntry)[]>();
  /** The last set pushed per service that the registry does not ignore as empty. */
  readonly #sets = new Map<string, (DiscoveredEndpoint | DiscoveredEntry)[]>();
  readonly #failing = new Map<string, Error>();
  readonly #listeners = new Map<string, Set<DiscoveryListener>>();

  /** @internal Made by the kit; use `t.discovery`. */
  constructor(host: DiscoveryHost, options: FakeDiscoveryOptions = {}) {
    this.#host = host;
    this.allowEmpty = options.allowEmpty === true;
  }

  /**
   * Called by the mesh's registry: starts feeding `service` to `listener`.
   * A failing service reports its failure at once, a pushed one its last
   * set; otherwise the provider stays silent (the service is served by its
   * configured `endpoints`, if any, until the first push).
   */
  watch(service: string, listener: DiscoveryListener): () => void {
    let set = this.#listeners.get(service);
    if (!set) this.#listeners.set(service, (set = new Set()));
    set.add(listener);
    const failure = this.#failing.get(service);
    const current = this.#current.get(service);
    if (failure) listener.error(failure);
    else if (current) listener.update(current);
    return () => {
      const listeners = this.#listeners.get(service);
      listeners?.delete(listener);
      if (listeners?.size === 0) this.#listeners.delete(service);
    };
  }

  /** Called by the mesh's registry when the provider leaves the configuration or the mesh closes: forgets the watches (pushed sets stay, for a later configuration). */
  close(): void {
    this.#listeners.clear();
  }

  /**
   * Pushes the complete endpoint set of `service` (it replaces the previous
   * one) through the registry, which applies it at once: the returned promise
   * is already settled when the mesh serves it. Invalid entries are rejected
   * one by one (`discovery-rejected`); an empty set is ignored unless
   * {@link FakeDiscovery.allowEmpty}. Ends a failure of that service
   * (`discovery-recovered`). Rejects when the mesh has no such service.
   */
  async push(service: string, endpoints: readonly (DiscoveredEndpoint | DiscoveredEntry)[]): Promise<void> {
    this.#host.adopt(service);
    const set = [...endpoints];
    const time = this.#host.now();
    if (this.#failing.delete(service)) this.history.push({ time, service, kind: 'recover' });
    const ignored = set.length === 0 && !this.allowEmpty;
    this.history.push({ time, service, kind: ignored ? 'ignored-empty' : 'push', endpoints: [...set] });
    this.#current.set(service, set);
    if (!ignored) this.#sets.set(service, set);
    for (const listener of this.#listenersOf(service)) listener.update(set);
  }

  /**
   * Makes the provider fail for `service` (`discovery-failed`): the mesh
   * keeps the last known good set, or falls back to the service's configured
   * `endpoints`. Throws when the mesh has no such service.
   */
  fail(service: string, error: Error = new Error(`discovery for ${service} failed`)): void {
    this.#host.adopt(service);
    this.#failing.set(service, error);
    this.history.push({ time: this.#host.now(), service, kind: 'fail', error });
    for (const listener of this.#listenersOf(service)) listener.error(error);
  }

  /** Ends a failure by pushing the last set again (an empty one if none was pushed): `discovery-recovered`. */
  recover(service: string): void {
    if (!this.#failing.delete(service)) return;
    this.history.push({ time: this.#host.now(), service, kind: 'recover' });
    const set = this.#current.get(service) ?? [];
    for (const listener of this.#listenersOf(service)) listener.update(set);
  }

  /** The failure of `service`, while it is failing. */
  failure(service: string): Error | undefined {
    return this.#failing.get(service);
  }

  /**
   * The last set pushed for `service` that the registry does not ignore as
   * empty, as pushed (entries the registry rejected included), if any.
   */
  endpoints(service: string): (DiscoveredEndpoint | DiscoveredEntry)[] | undefined {
    const set = this.#sets.get(service);
    return set && [...set];
  }

  /** True while the mesh watches `service` through this provider. */
  watches(service: string): boolean {
    return (this.#listeners.get(service)?.size ?? 0) > 0;
  }

  #listenersOf(service: string): DiscoveryListener[] {
    return [...(this.#listeners.get(service) ?? [])];
  }
}
