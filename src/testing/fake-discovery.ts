import type { MeshConfig } from '../config/types.js';
import type { EndpointInput } from '../discovery/endpoint.js';

/** One thing a {@link FakeDiscovery} did. */
export interface DiscoveryRecord {
  /** Test-clock milliseconds. */
  time: number;
  /** The service concerned. */
  service: string;
  /** `push`: a set was applied; `ignored-empty`: an empty set was not applied; `fail`: the provider failed; `recover`: it came back. */
  kind: 'push' | 'ignored-empty' | 'fail' | 'recover';
  /** The endpoints pushed (for `push` and `ignored-empty`). */
  endpoints?: EndpointInput[];
  /** The failure (for `fail`). */
  error?: Error;
}

/** Options of {@link FakeDiscovery.push}. */
export interface PushOptions {
  /** Apply an empty set too. Default false: as the mesh's registry does, an empty set is not applied and the last set stays. */
  allowEmpty?: boolean;
}

/** What a {@link FakeDiscovery} needs from its test mesh. */
export interface DiscoveryHost {
  /** Test-clock milliseconds. */
  now(): number;
  /** The configuration without discovered endpoints. */
  baseConfig(): MeshConfig;
  /** Applies a configuration to the mesh. */
  apply(config: MeshConfig): Promise<void>;
}

/**
 * A discovery provider the test controls: push endpoint sets per service,
 * make it fail, bring it back. Pushed sets replace the service's configured
 * `endpoints` and reach the mesh through `mesh.updateConfig`, as a registry
 * would. It follows the registry rules of the design: a failing provider
 * keeps the last known good set, and an empty set is not applied unless
 * `allowEmpty` says so.
 *
 * Once meshlet's discovery providers land, this becomes a real
 * `DiscoveryProvider` (the same `push`/`fail` calls, fed through the
 * registry); tests written against it keep working.
 *
 * @example
 * ```ts
 * await t.discovery.push('orders', ['http://10.0.0.3:8080']);
 * t.discovery.fail('orders', new Error('etcd unreachable'));   // the set stays
 * ```
 */
export class FakeDiscovery {
  /** Everything pushed, ignored, failed and recovered, in order. */
  readonly history: DiscoveryRecord[] = [];
  readonly #host: DiscoveryHost;
  readonly #sets = new Map<string, EndpointInput[]>();
  readonly #failing = new Map<string, Error>();

  /** @internal Made by the kit; use `t.discovery`. */
  constructor(host: DiscoveryHost) {
    this.#host = host;
  }

  /**
   * Pushes the endpoint set of `service` and applies it. Resolves once the
   * mesh serves it; rejects with `MeshConfigError` if the set is invalid (the
   * previous set keeps serving). Clears a failure of that service.
   */
  async push(service: string, endpoints: EndpointInput[], options: PushOptions = {}): Promise<void> {
    const time = this.#host.now();
    if (this.#failing.delete(service)) this.history.push({ time, service, kind: 'recover' });
    if (endpoints.length === 0 && !options.allowEmpty) {
      this.history.push({ time, service, kind: 'ignored-empty', endpoints: [] });
      return;
    }
    const previous = this.#sets.get(service);
    this.#sets.set(service, [...endpoints]);
    try {
      await this.#host.apply(this.withDiscovered(this.#host.baseConfig()));
    } catch (error) {
      if (previous) this.#sets.set(service, previous);
      else this.#sets.delete(service);
      throw error;
    }
    this.history.push({ time, service, kind: 'push', endpoints: [...endpoints] });
  }

  /** Makes the provider fail for `service`: nothing changes in the mesh (the last known good set keeps serving). */
  fail(service: string, error: Error = new Error(`discovery for ${service} failed`)): void {
    this.#failing.set(service, error);
    this.history.push({ time: this.#host.now(), service, kind: 'fail', error });
  }

  /** Ends a failure without pushing a new set. */
  recover(service: string): void {
    if (this.#failing.delete(service)) this.history.push({ time: this.#host.now(), service, kind: 'recover' });
  }

  /** The failure of `service`, while it is failing. */
  failure(service: string): Error | undefined {
    return this.#failing.get(service);
  }

  /** The last set applied for `service`, if discovery pushed one. */
  endpoints(service: string): EndpointInput[] | undefined {
    const set = this.#sets.get(service);
    return set && [...set];
  }

  /** `config` with each discovered service's endpoints replaced by its pushed set. */
  withDiscovered(config: MeshConfig): MeshConfig {
    if (this.#sets.size === 0) return config;
    const services = { ...config.services };
    for (const [name, endpoints] of this.#sets) services[name] = { ...services[name], endpoints };
    return { ...config, services };
  }
}
