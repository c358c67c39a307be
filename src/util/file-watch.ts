import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { Clock, TimerHandle } from './clock.js';

/** Timing of a {@link FileWatch}. */
export interface FileWatchTiming {
  /** Quiet time after a change before `onChange` runs, in milliseconds. */
  readonly debounceMs: number;
  /** How often size and modification time are compared (0: never), in milliseconds. */
  readonly pollIntervalMs: number;
}

/**
 * Watches one file for changes: `fs.watch` on its directory (so a file
 * replaced by rename is seen), debounced on the mesh clock, with a polling
 * fallback comparing size, mtime and inode for file systems whose events are
 * missed. Shared by file discovery and the file config source.
 */
export class FileWatch {
  readonly #path: string;
  readonly #clock: Clock;
  readonly #timing: FileWatchTiming;
  readonly #onChange: () => void;
  #watcher: FSWatcher | undefined;
  #debounce: TimerHandle | undefined;
  #poll: TimerHandle | undefined;
  #stat = '';
  #closed = false;

  /** `path` must be absolute; `onChange` runs after a debounced change (never synchronously). */
  constructor(path: string, clock: Clock, timing: FileWatchTiming, onChange: () => void) {
    this.#path = path;
    this.#clock = clock;
    this.#timing = timing;
    this.#onChange = onChange;
    try {
      this.#watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
        if (name === null || name === basename(path)) this.#schedule();
      });
      this.#watcher.on('error', () => {
        // Events are gone (directory removed, unsupported): polling carries on.
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      this.#watcher = undefined; // polling only
    }
    this.#armPoll();
  }

  /** Records the file's current size/mtime/inode: call it just before reading the file. */
  markRead(): void {
    this.#stat = statKey(this.#path);
  }

  /** Stops watching and clears every timer. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#debounce !== undefined) this.#clock.clearTimeout(this.#debounce);
    if (this.#poll !== undefined) this.#clock.clearTimeout(this.#poll);
    this.#debounce = this.#poll = undefined;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounce !== undefined) this.#clock.clearTimeout(this.#debounce);
    this.#debounce = this.#clock.setTimeout(() => {
      this.#debounce = undefined;
      if (!this.#closed) this.#onChange();
    }, this.#timing.debounceMs);
  }

  #armPoll(): void {
    if (this.#timing.pollIntervalMs <= 0 || this.#closed) return;
    this.#poll = this.#clock.setTimeout(() => {
      this.#poll = undefined;
      if (this.#closed) return;
      if (statKey(this.#path) !== this.#stat) this.#schedule();
      this.#armPoll();
    }, this.#timing.pollIntervalMs);
  }
}

/** Size, modification time and inode of a file, or `missing`. */
export function statKey(path: string): string {
  try {
    const s = statSync(path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

let yamlModule: { parse(text: string): unknown } | undefined;

/** Loads the optional peer `yaml` synchronously (it ships CommonJS); `what` names the feature in the error. */
export function loadYaml(what: string): { parse(text: string): unknown } {
  if (yamlModule) return yamlModule;
  try {
    yamlModule = createRequire(import.meta.url)('yaml') as { parse(text: string): unknown };
  } catch {
    throw new Error(`${what} need the optional peer dependency "yaml" (npm install yaml)`);
  }
  return yamlModule;
}
