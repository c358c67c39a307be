import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import type { ConfigSource } from '../config/source.js';
import { MeshConfigError } from '../errors/mesh-error.js';
import type { EventBus } from '../telemetry/event-bus.js';
import type { Clock } from '../util/clock.js';
import type { MeshReconciler } from './reconciler.js';

/** What the config update path needs from its client. */
export interface ConfigUpdateEnvironment {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly random: () => number;
  /** The control side the validated configs are applied to. */
  readonly control: MeshReconciler;
  /** True once the client is closing: documents that arrive then are ignored. */
  closed(): boolean;
}

/**
 * The config update path of a client: a document is validated whole and
 * applied to the control side atomically, or rejected whole with a `config`
 * `rejected` event while the last good config keeps serving; and the config
 * sources being watched (`MeshClient.watchConfig`), stopped together when
 * the client closes.
 */
export class ConfigUpdates {
  readonly #env: ConfigUpdateEnvironment;
  /** Stop functions of the config sources being watched. */
  readonly #watches = new Set<() => void>();

  constructor(env: ConfigUpdateEnvironment) {
    this.#env = env;
  }

  /** Validates and applies `config` (from `source`, when named), or emits `rejected` and throws the {@link MeshConfigError}. */
  update(config: unknown, source: string | undefined): void {
    let resolved: ResolvedConfig;
    try {
      resolved = resolveConfig(config);
    } catch (error) {
      if (error instanceof MeshConfigError) {
        this.#env.bus.config({ type: 'rejected', service: '*', time: this.#env.clock.wallNow(), issues: error.issues, ...(source === undefined ? {} : { source }) });
      }
      throw error;
    }
    this.#env.control.apply(resolved, source);
  }

  /**
   * Takes each document `source` delivers through {@link ConfigUpdates.update};
   * a document that cannot be read or parsed is a `rejected` event. Resolves
   * once the source delivered its first document or error, with the
   * function that stops watching.
   */
  watch(source: ConfigSource): Promise<() => void> {
    const env = this.#env;
    return new Promise((resolve) => {
      let settled = false;
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        this.#watches.delete(stop);
        stopSource?.();
      };
      const first = () => {
        if (settled) return;
        settled = true;
        resolve(stop);
      };
      this.#watches.add(stop);
      const stopSource: (() => void) | undefined = source.watch(
        {
          update: (config) => {
            if (stopped || env.closed()) return;
            try {
              this.update(config, source.name);
            } catch (error) {
              if (!(error instanceof MeshConfigError)) {
                env.bus.config({ type: 'rejected', service: '*', time: env.clock.wallNow(), issues: [{ path: '', message: String(error) }], source: source.name });
              }
            }
            first();
          },
          error: (error) => {
            if (stopped || env.closed()) return;
            env.bus.config({ type: 'rejected', service: '*', time: env.clock.wallNow(), issues: [{ path: '', message: error.message }], source: source.name });
            first();
          },
        },
        { clock: env.clock, random: env.random },
      );
      if (stopped) stopSource();
    });
  }

  /** Stops every watch. */
  stopAll(): void {
    for (const stop of [...this.#watches]) stop();
  }
}
