import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { buildConnector } from 'undici';
import type { Endpoint } from '../endpoint/endpoint.js';
import { MeshConfigError, MeshError, type ConfigIssue } from '../errors/mesh-error.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { debugChannel } from '../util/logger.js';
import type { ResolvedTls } from './config.js';
import { checkPeerIdentity } from './spiffe.js';
import {
  checkSource,
  readSources,
  sameRaw,
  sourceFiles,
  validateMaterial,
  type MaterialSources,
  type RawMaterial,
  type ResolvedSource,
  type TlsMaterial,
} from './tls-material.js';
import type { TlsMaterialUpdate } from './types.js';

const trace = debugChannel('tls');
/** The longest a refused read of the certificate files is held back for a second read (see `#reload`). */
const SETTLE_MAX_MS = 1_000;

/**
 * The connector of an `https://` endpoint in a service without `tls`
 * settings: Node's root CAs and host-name verification against the
 * endpoint's own host name (undici would otherwise use the Host header, the
 * service name, as SNI and for verification).
 */
export function defaultTlsConnector(timeoutMs: number): buildConnector.connector {
  const base = buildConnector({ timeout: timeoutMs });
  return (opts, callback) => base({ ...opts, servername: undefined }, callback);
}

/** A security event for the health stream, before the service and time are added. */
export interface SecurityReport {
  readonly type: 'peer-identity-rejected' | 'tls-updated' | 'tls-update-rejected';
  readonly endpoint?: string;
  readonly reason: string;
}

/** What a {@link TlsRuntime} needs from its client. */
export interface TlsEnvironment {
  readonly clock: Clock;
  report(service: string, event: SecurityReport): void;
}

/**
 * The live TLS state of one service: its current material (one
 * *generation*), the file watches that rotate it, and the connectors built
 * from it. Each endpoint pool belongs to one generation; when the generation
 * changes, the endpoint opens a new pool for new requests and drains the old
 * one, so requests in flight are never failed by a rotation.
 */
export class TlsRuntime {
  readonly service: string;
  readonly config: ResolvedTls;
  /** Starts at 1; +1 per material swap. */
  generation = 1;
  readonly #env: TlsEnvironment;
  #sources: MaterialSources;
  #raw: RawMaterial;
  #material: TlsMaterial;
  #watchers: FSWatcher[] = [];
  #debounce: TimerHandle | undefined;
  #poll: TimerHandle | undefined;
  #reloading: Promise<void> | undefined;
  #again = false;
  #lastRejected: string | undefined;
  #closed = false;
  #settleTimer: TimerHandle | undefined;
  #settling: (() => void) | undefined;
  /** +1 per (re)start of the watches: a poll loop of an older start stops. */
  #epoch = 0;

  constructor(service: string, config: ResolvedTls, env: TlsEnvironment) {
    this.service = service;
    this.config = config;
    this.#env = env;
    this.#sources = config.sources;
    this.#raw = config.raw;
    this.#material = config.material;
    this.#watch();
  }

  /** The material new connections use. */
  get material(): TlsMaterial {
    return this.#material;
  }

  /**
   * An undici `connect` function for one endpoint with the current material:
   * TLS (and mTLS when a certificate is set) with chain verification, and
   * either the workload-identity check or host-name verification.
   */
  connector(endpoint: Endpoint, timeoutMs: number): buildConnector.connector {
    const m = this.#material;
    const identity = this.config.identity;
    const options: buildConnector.BuildOptions = {
      ca: m.ca,
      cert: m.cert,
      key: m.key,
      minVersion: this.config.minVersion,
      rejectUnauthorized: true,
      timeout: timeoutMs,
    };
    if (identity) {
      // SPIFFE: the URI SAN identifies the peer; host names are not checked.
      const checkServerIdentity = (_host: string, cert: PeerCertificate) => this.#verifyPeer(endpoint, cert);
      options.checkServerIdentity = checkServerIdentity;
    }
    const base = buildConnector(options);
    const servername = this.config.servername;
    // undici passes the Host header (the service name) as servername; the
    // endpoint's own name (or the configured one) is what TLS must see.
    return (opts, callback) => base({ ...opts, servername }, callback);
  }

  /**
   * Pushes new material (the given fields replace the current ones, values or
   * `{ file }`). Valid material becomes the next generation; invalid material
   * is refused with a `tls-update-rejected` event and a
   * {@link MeshConfigError}, and the current material stays.
   */
  async update(update: TlsMaterialUpdate): Promise<void> {
    const path = `services.${this.service}.tls`;
    const issues: ConfigIssue[] = [];
    const next: Partial<Record<'ca' | 'cert' | 'key', ResolvedSource>> = { ...this.#sources };
    if (typeof update !== 'object' || update === null) {
      issues.push({ path, message: 'expected { ca, cert, key }' });
    } else {
      for (const key of Object.keys(update)) {
        if (key !== 'ca' && key !== 'cert' && key !== 'key') issues.push({ path: `${path}.${key}`, message: `unknown field "${key}"` });
      }
      for (const f of ['ca', 'cert', 'key'] as const) {
        if (update[f] === undefined) continue;
        const s = checkSource(update[f], `${path}.${f}`, issues);
        if (s) next[f] = s;
      }
    }
    let raw: RawMaterial | undefined;
    if (issues.length === 0) {
      try {
        raw = await readSources(next);
      } catch (error) {
        issues.push({ path, message: (error as Error).message });
      }
    }
    const material = raw && validateMaterial(raw, this.config.minVersion, this.#env.clock.wallNow(), path, issues);
    if (!raw || !material || this.#closed) {
      if (this.#closed) issues.push({ path, message: 'the mesh is closed' });
      this.#reject(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
      throw new MeshConfigError(issues);
    }
    this.#sources = Object.freeze(next);
    this.#unwatch();
    this.#watch();
    this.#swap(raw, material, 'pushed with updateTls');
  }

  /** Re-reads the file sources now and rotates if they changed and are valid. */
  reload(): Promise<void> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = this.#reload().finally(() => {
      this.#reloading = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.reload();
      }
    });
    return this.#reloading;
  }

  /** Stops every watch and timer. */
  close(): void {
    this.#closed = true;
    this.#unwatch();
    if (this.#settleTimer !== undefined) this.#env.clock.clearTimeout(this.#settleTimer);
    this.#settling?.();
  }

  /**
   * Reads the files and rotates. What cannot be read or does not validate is
   * read once more after a short wait before it is refused (`settle`): a
   * rotation replaces its files one at a time, so a read that overlaps one can
   * pair the new key with the old certificate.
   */
  async #reload(settle = true): Promise<void> {
    const sources = this.#sources;
    let raw: RawMaterial;
    try {
      raw = await readSources(sources);
    } catch (error) {
      if (this.#closed || sources !== this.#sources) return;
      if (settle && (await this.#settle())) return this.#reload(false);
      this.#reject((error as Error).message);
      return;
    }
    // A push (updateTls) while reading wins: this read is of the old sources.
    if (this.#closed || sources !== this.#sources || sameRaw(raw, this.#raw)) return;
    const issues: ConfigIssue[] = [];
    const material = validateMaterial(raw, this.config.minVersion, this.#env.clock.wallNow(), 'tls', issues);
    if (!material) {
      if (settle && (await this.#settle())) return this.#reload(false);
      this.#reject(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
      return;
    }
    this.#swap(raw, material, 'files changed');
  }

  /** Waits the debounce (at most {@link SETTLE_MAX_MS}) on the mesh clock; false when closed meanwhile. */
  #settle(): Promise<boolean> {
    const ms = Math.min(this.config.watch ? this.config.watch.debounceMs : 0, SETTLE_MAX_MS);
    return new Promise((resolve) => {
      const settled = () => {
        this.#settling = undefined;
        this.#settleTimer = undefined;
        resolve(!this.#closed);
      };
      this.#settling = settled;
      this.#settleTimer = this.#env.clock.setTimeout(settled, ms);
    });
  }

  #swap(raw: RawMaterial, material: TlsMaterial, why: string): void {
    this.#raw = raw;
    this.#material = material;
    this.#lastRejected = undefined;
    this.generation++;
    trace('%s: TLS material generation %d (%s)', this.service, this.generation, why);
    const expiry = material.notAfter === undefined ? '' : `; certificate valid until ${new Date(material.notAfter).toISOString()}`;
    this.#env.report(this.service, { type: 'tls-updated', reason: `generation ${this.generation}: ${why}${expiry}` });
  }

  /** Reports a refused update once per distinct reason (polling would repeat it otherwise). */
  #reject(reason: string): void {
    trace('%s: new TLS material refused: %s', this.service, reason);
    if (reason === this.#lastRejected) return;
    this.#lastRejected = reason;
    this.#env.report(this.service, { type: 'tls-update-rejected', reason: `${reason}; the current material stays` });
  }

  #verifyPeer(endpoint: Endpoint, cert: PeerCertificate): Error | undefined {
    const verdict = checkPeerIdentity(cert.subjectaltname, this.config.identity ?? {});
    if (verdict.ok) return undefined;
    this.#env.report(this.service, { type: 'peer-identity-rejected', endpoint: endpoint.url, reason: verdict.reason });
    return new MeshError('MESH_PEER_IDENTITY', `endpoint ${endpoint.url} of service "${this.service}" was refused: ${verdict.reason}`, {
      service: this.service,
      endpoint: endpoint.url,
    });
  }

  #watch(): void {
    const settings = this.config.watch;
    if (!settings || this.#closed) return;
    const files = sourceFiles(this.#sources);
    if (files.length === 0) return;
    const byDir = new Map<string, Set<string>>();
    for (const file of files) {
      const dir = dirname(file);
      let names = byDir.get(dir);
      if (!names) byDir.set(dir, (names = new Set()));
      names.add(basename(file));
    }
    // Watch the directories, not the files: rotation usually replaces a file
    // (a rename), which ends a watch on the old file.
    for (const [dir, names] of byDir) {
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => {
          if (filename === null || names.has(String(filename))) this.#schedule();
        });
        watcher.on('error', () => {
          watcher.close();
          this.#watchers = this.#watchers.filter((w) => w !== watcher);
        });
        this.#watchers.push(watcher);
      } catch (error) {
        trace('%s: cannot watch %s (%s); polling only', this.service, dir, String(error));
      }
    }
    const epoch = ++this.#epoch;
    const poll = (): void => {
      this.#poll = this.#env.clock.setTimeout(() => {
        void this.reload().finally(() => {
          if (!this.#closed && epoch === this.#epoch) poll();
        });
      }, settings.pollMs);
    };
    poll();
  }

  #schedule(): void {
    const settings = this.config.watch;
    if (!settings || this.#closed) return;
    if (this.#debounce !== undefined) this.#env.clock.clearTimeout(this.#debounce);
    this.#debounce = this.#env.clock.setTimeout(() => {
      this.#debounce = undefined;
      void this.reload();
    }, settings.debounceMs);
  }

  #unwatch(): void {
    this.#epoch++;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#debounce !== undefined) this.#env.clock.clearTimeout(this.#debounce);
    if (this.#poll !== undefined) this.#env.clock.clearTimeout(this.#poll);
    this.#debounce = undefined;
    this.#poll = undefined;
  }
}
