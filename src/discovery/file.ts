import { Type } from '@sinclair/typebox';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe } from '../util/describe.js';
import { FileWatch, loadYaml } from '../util/file-watch.js';
import { bool, int, oneOf, opt, str } from '../util/schema-blocks.js';
import { defaultsOf } from '../util/schema-defaults.js';
import type {
  DiscoveredEntry,
  DiscoveryEnvironment,
  DiscoveryListener,
  DiscoveryProvider,
  DiscoveryProviderDefinition,
} from './provider.js';

/** Options of {@link fileDiscovery}. */
export interface FileDiscoveryOptions {
  /** `'json'` or `'yaml'`. Default: from the extension (`.yaml`/`.yml` is YAML, anything else JSON). */
  format?: 'json' | 'yaml';
  /** Quiet time after a change before the file is read, in milliseconds. Default 100. */
  debounceMs?: number;
  /**
   * How often the file's size and modification time are checked, in
   * milliseconds, in case file-system events are missed or unsupported
   * (network file systems, some containers). Default 5,000; 0 turns polling off.
   */
  pollIntervalMs?: number;
  /** Apply an empty list (or a service missing from the file) as "no endpoints". Default false. */
  allowEmpty?: boolean;
}

/** The schema of the `file` provider type's options: the file's path and {@link FileDiscoveryOptions}. */
export const FILE_DISCOVERY_OPTIONS_SCHEMA = Type.Object(
  {
    /** The file's path, relative to the working directory. */
    path: str('The file: a JSON or YAML map of service names to endpoint lists.'),
    /** `'json'` or `'yaml'`. Default: from the extension (`.yaml`/`.yml` is YAML, anything else JSON). */
    format: opt(oneOf("'json' or 'yaml'. Default: from the extension.", ['json', 'yaml'])),
    /** Quiet time after a change before the file is read, in milliseconds. Default 100. */
    debounceMs: opt(int('Quiet time after a change before the file is read, ms.', 0, undefined, 100)),
    /** How often the file's size and modification time are checked, in milliseconds; 0 turns polling off. Default 5,000. */
    pollIntervalMs: opt(int('How often the file is checked in case events are missed, ms (0: never).', 0, undefined, 5_000)),
    /** Apply an empty list (or a service missing from the file) as "no endpoints". Default false. */
    allowEmpty: opt(bool('Apply an empty list as no endpoints.', false)),
  },
  { description: 'Options of the file provider type.', additionalProperties: false },
);

const DEFAULTS = defaultsOf(FILE_DISCOVERY_OPTIONS_SCHEMA) as { debounceMs: number; pollIntervalMs: number };

/**
 * Endpoints from a JSON or YAML file mapping service names to endpoint lists,
 * watched for changes (file-system events, debounced, with a polling
 * fallback). A half-written or invalid file is ignored with a
 * `discovery-failed` event and never applied (the last good content stays);
 * a bad entry is rejected alone with a `discovery-rejected` event naming the
 * file and the entry (`orders.2`), and the rest applies.
 *
 * YAML needs the optional peer dependency `yaml` (`npm install yaml`).
 *
 * @example
 * ```ts
 * // endpoints.json: { "orders": ["http://10.0.0.1:8080", { "url": "http://10.0.0.2:8080", "weight": 2 }] }
 * const mesh = new MeshClient({ discovery: fileDiscovery('endpoints.json'), services: { orders: {} } });
 * ```
 */
export function fileDiscovery(path: string, options: FileDiscoveryOptions = {}): DiscoveryProvider {
  if (typeof path !== 'string' || path === '') throw new TypeError('fileDiscovery needs a file path');
  return new FileDiscovery(path, options);
}

class FileDiscovery implements DiscoveryProvider {
  readonly source: string;
  readonly allowEmpty: boolean;
  readonly #path: string;
  readonly #format: 'json' | 'yaml';
  readonly #debounceMs: number;
  readonly #pollMs: number;
  readonly #listeners = new Map<string, Set<DiscoveryListener>>();
  #env: DiscoveryEnvironment | undefined;
  #watch: FileWatch | undefined;
  #text: string | undefined;
  /** The last valid content, by service. */
  #content: Map<string, DiscoveredEntry[]> | undefined;
  /** Unparseable entries of the last valid content, by service. */
  #rejects = new Map<string, { key: string; message: string }[]>();
  /** The error of the last read, while the file is bad. */
  #error: Error | undefined;
  #closed = false;

  constructor(path: string, options: FileDiscoveryOptions) {
    this.#path = resolve(path);
    this.source = `file:${path}`;
    this.allowEmpty = options.allowEmpty === true;
    this.#format = options.format ?? (/\.ya?ml$/i.test(path) ? 'yaml' : 'json');
    this.#debounceMs = options.debounceMs ?? DEFAULTS.debounceMs;
    this.#pollMs = options.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
  }

  watch(service: string, listener: DiscoveryListener, env: DiscoveryEnvironment): () => void {
    let set = this.#listeners.get(service);
    if (!set) this.#listeners.set(service, (set = new Set()));
    set.add(listener);
    if (!this.#env) {
      this.#env = env;
      this.#start();
    } else this.#deliver(service, listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(service);
      if (this.#listeners.size === 0) this.#stop();
    };
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#stop();
  }

  #start(): void {
    const env = this.#env!;
    this.#watch = new FileWatch(this.#path, env.clock, { debounceMs: this.#debounceMs, pollIntervalMs: this.#closed ? 0 : this.#pollMs }, () =>
      this.#read(),
    );
    this.#read();
  }

  #stop(): void {
    this.#watch?.close();
    this.#watch = undefined;
    this.#env = undefined;
    this.#text = undefined;
  }

  /** Reads and parses the file; pushes to every listener when the content changed. */
  #read(): void {
    if (!this.#env || this.#closed) return;
    let text: string;
    try {
      this.#watch?.markRead();
      text = readFileSync(this.#path, 'utf8');
    } catch (error) {
      this.#fail(new Error(`cannot read ${this.#path}: ${(error as Error).message}`));
      return;
    }
    if (text === this.#text && this.#error === undefined) return;
    this.#text = text;
    let doc: unknown;
    try {
      doc = this.#format === 'yaml' ? loadYaml('YAML discovery files').parse(text) : JSON.parse(text);
    } catch (error) {
      this.#fail(new Error(`file ignored: not valid ${this.#format.toUpperCase()} (${(error as Error).message})`));
      return;
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      this.#fail(new Error(`file ignored: expected an object of endpoint lists by service, found ${describe(doc)}`));
      return;
    }
    const content = new Map<string, DiscoveredEntry[]>();
    this.#rejects = new Map();
    for (const [service, list] of Object.entries(doc)) {
      if (!Array.isArray(list)) {
        this.#rejects.set(service, [{ key: service, message: `expected an array of endpoints, found ${describe(list)}` }]);
        continue;
      }
      content.set(
        service,
        list.map((endpoint: unknown, i: number) => ({ key: `${service}.${i}`, endpoint: endpoint as DiscoveredEntry['endpoint'] })),
      );
    }
    this.#content = content;
    this.#error = undefined;
    for (const [service, set] of this.#listeners) for (const l of set) this.#deliver(service, l);
  }

  #deliver(service: string, listener: DiscoveryListener): void {
    if (this.#error) {
      listener.error(this.#error);
      return;
    }
    if (!this.#content) return;
    const rejects = this.#rejects.get(service);
    if (rejects) {
      for (const r of rejects) listener.reject(r.key, r.message);
      listener.error(new Error(`entry "${service}" ignored: ${rejects[0]!.message}`));
      return;
    }
    listener.update(this.#content.get(service) ?? []);
  }

  #fail(error: Error): void {
    this.#error = error;
    this.#text = undefined;
    for (const [, set] of this.#listeners) for (const l of set) l.error(error);
  }
}

/** The `file` provider type: `{ type: 'file', path, format?, debounceMs?, pollIntervalMs?, allowEmpty? }`. */
export const fileDiscoveryType: DiscoveryProviderDefinition = {
  options: FILE_DISCOVERY_OPTIONS_SCHEMA,
  create: (o) => fileDiscovery(o.path as string, o as FileDiscoveryOptions),
};
