import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Clock } from '../util/clock.js';
import { FileWatch, loadYaml } from '../util/file-watch.js';

/** What a {@link ConfigSource} tells the mesh. */
export interface ConfigSourceListener {
  /** A new document: validated by the mesh like `updateConfig`; applied whole or rejected whole. */
  update(config: unknown): void;
  /** The source is broken (unreadable, unparseable): a `config` `rejected` event; the last good config stays. */
  error(error: Error): void;
}

/** What the mesh gives a {@link ConfigSource} when it starts watching. */
export interface ConfigSourceEnvironment {
  /** The mesh clock: every timer of the source runs on it. */
  readonly clock: Clock;
  /** The mesh's random source (backoff jitter), seedable through the client option `random`. */
  readonly random: () => number;
}

/**
 * A place a {@link MeshConfig} comes from and is watched at: a file
 * ({@link fileConfigSource}), an etcd key (`etcdConfigSource` in
 * `proxyless/etcd`) or your own. Given to {@link MeshClient.watchConfig}.
 */
export interface ConfigSource {
  /** Names the source in events and logs, e.g. `file:mesh.yaml`. */
  readonly name: string;
  /** Starts pushing documents to `listener`; returns the function that stops it. */
  watch(listener: ConfigSourceListener, env: ConfigSourceEnvironment): () => void;
}

/** Options of {@link fileConfigSource}. */
export interface FileConfigSourceOptions {
  /** `'json'` or `'yaml'`. Default: from the extension (`.yaml`/`.yml` is YAML, anything else JSON). */
  format?: 'json' | 'yaml';
  /** Quiet time after a change before the file is read, in milliseconds. Default 100. */
  debounceMs?: number;
  /** How often size and mtime are checked in case file-system events are missed, in milliseconds. Default 5,000; 0 turns polling off. */
  pollIntervalMs?: number;
}

/**
 * A {@link MeshConfig} from a JSON or YAML file, watched like file discovery
 * (file-system events on the directory, debounced, with a polling
 * fallback). A file that cannot be read or parsed (half written) is never
 * applied: a `config` `rejected` event, and the last good config keeps
 * serving. Write files atomically (write a temporary file, then rename) so a
 * half-written YAML file that happens to parse is never seen.
 *
 * YAML needs the optional peer dependency `yaml` (`npm install yaml`).
 *
 * @example
 * ```ts
 * const mesh = new MeshClient({});
 * await mesh.watchConfig(fileConfigSource('mesh.yaml'));
 * ```
 */
export function fileConfigSource(path: string, options: FileConfigSourceOptions = {}): ConfigSource {
  if (typeof path !== 'string' || path === '') throw new TypeError('fileConfigSource needs a file path');
  const full = resolve(path);
  const format = options.format ?? (/\.ya?ml$/i.test(path) ? 'yaml' : 'json');
  const timing = { debounceMs: options.debounceMs ?? 100, pollIntervalMs: options.pollIntervalMs ?? 5_000 };
  return {
    name: `file:${path}`,
    watch(listener, env) {
      let last: string | undefined;
      let stopped = false;
      const read = () => {
        if (stopped) return;
        let text: string;
        try {
          watcher.markRead();
          text = readFileSync(full, 'utf8');
        } catch (error) {
          last = undefined;
          listener.error(new Error(`cannot read ${full}: ${(error as Error).message}`));
          return;
        }
        if (text === last) return;
        let doc: unknown;
        try {
          doc = format === 'yaml' ? loadYaml('YAML config files').parse(text) : JSON.parse(text);
        } catch (error) {
          last = undefined;
          listener.error(new Error(`${full} ignored: not valid ${format.toUpperCase()} (${(error as Error).message})`));
          return;
        }
        last = text;
        listener.update(doc);
      };
      const watcher = new FileWatch(full, env.clock, timing, read);
      read();
      return () => {
        stopped = true;
        watcher.close();
      };
    },
  };
}
