/**
 * `proxyless/server`: a small, optional inbound helper for Node HTTPS servers,
 * so two proxyless services can enforce service-to-service authorization with
 * mTLS and SPIFFE workload identities.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:https';
 * import { serverTlsOptions, spiffeAuthorizer } from 'proxyless/server';
 *
 * const authorize = spiffeAuthorizer({ allow: ['spiffe://example.org/ns/prod/sa/web'] });
 * createServer(serverTlsOptions({ ca: { file: 'ca.pem' }, cert: { file: 'orders.pem' }, key: { file: 'orders-key.pem' } }),
 *   (req, res) => {
 *     if (!authorize(req, res)) return; // 403 already sent
 *     res.end(`hello ${peerIdentity(req)}`);
 *   }).listen(8443);
 * ```
 *
 * @packageDocumentation
 * @module proxyless/server
 */
import { watch, type FSWatcher } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, ServerOptions } from 'node:https';
import { dirname, basename } from 'node:path';
import { TLSSocket } from 'node:tls';
import { MeshConfigError, type ConfigIssue } from '../errors/mesh-error.js';
import { checkPeerIdentity, isTrustDomain, parseSpiffeId, type IdentityVerdict } from '../security/spiffe.js';
import {
  checkSource,
  readSources,
  readSourcesSync,
  sameRaw,
  sourceFiles,
  validateMaterial,
  type RawMaterial,
  type ResolvedSource,
} from '../security/tls-material.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { TlsSource } from '../security/types.js';

export type { TlsSource } from '../security/types.js';
export { parseSpiffeId, checkPeerIdentity, type SpiffeId, type IdentityPolicy, type IdentityVerdict } from '../security/spiffe.js';

/** Who may call: a trust domain, an allow-list of SPIFFE IDs, or both (at least one). */
export interface SpiffeAuthorizerOptions {
  /** Accept only client IDs of this trust domain. */
  trustDomain?: string;
  /** Accept only these client SPIFFE IDs. */
  allow?: string[];
  /** Called for every refused request, with the reason (for logs or metrics). */
  onDenied?: (req: IncomingMessage, reason: string) => void;
}

/** Checks a request and answers 403 when its caller is not allowed; true when it may proceed. */
export type SpiffeAuthorizer = (req: IncomingMessage, res: ServerResponse) => boolean;

const verdicts = new WeakMap<TLSSocket, IdentityVerdict>();
const accepted = new WeakMap<IncomingMessage, string>();

/**
 * Builds an authorizer for `node:https` request handlers: the caller's client
 * certificate must be verified by the server's CA (see
 * {@link serverTlsOptions}) and carry exactly one URI SAN, a SPIFFE ID
 * allowed by the policy. Otherwise it answers `403 Forbidden` (without
 * saying why; `onDenied` hears the reason) and returns `false`. The verdict
 * is cached per connection. Throws {@link MeshConfigError} for a bad policy.
 */
export function spiffeAuthorizer(options: SpiffeAuthorizerOptions): SpiffeAuthorizer {
  const issues: ConfigIssue[] = [];
  const o = (typeof options === 'object' && options !== null ? options : {}) as SpiffeAuthorizerOptions;
  if (o.trustDomain !== undefined && (typeof o.trustDomain !== 'string' || !isTrustDomain(o.trustDomain))) {
    issues.push({ path: 'trustDomain', message: 'expected a trust domain (lower-case letters, digits, ".", "-", "_")' });
  }
  if (o.allow !== undefined) {
    if (!Array.isArray(o.allow) || o.allow.length === 0) issues.push({ path: 'allow', message: 'expected a non-empty array of SPIFFE IDs' });
    else {
      o.allow.forEach((id, i) => {
        const parsed = typeof id === 'string' ? parseSpiffeId(id) : 'not a string';
        if (typeof parsed === 'string') issues.push({ path: `allow.${i}`, message: `not a SPIFFE ID: ${parsed}` });
      });
    }
  }
  if (o.trustDomain === undefined && o.allow === undefined) {
    issues.push({ path: '', message: 'a policy needs a trustDomain, an allow-list of SPIFFE IDs, or both' });
  }
  if (o.onDenied !== undefined && typeof o.onDenied !== 'function') issues.push({ path: 'onDenied', message: 'expected a function' });
  if (issues.length > 0) throw new MeshConfigError(issues);
  const policy = { trustDomain: o.trustDomain, allow: o.allow && Object.freeze([...o.allow]) };
  const onDenied = o.onDenied;

  return (req, res) => {
    const verdict = verify(req, policy);
    if (verdict.ok) {
      accepted.set(req, verdict.id);
      return true;
    }
    onDenied?.(req, verdict.reason);
    if (!res.headersSent) {
      res.statusCode = 403;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.setHeader('connection', 'close');
    }
    res.end('forbidden\n');
    return false;
  };
}

function verify(req: IncomingMessage, policy: { trustDomain?: string | undefined; allow?: readonly string[] | undefined }): IdentityVerdict {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket)) return { ok: false, reason: 'the connection is not TLS' };
  const cached = verdicts.get(socket);
  if (cached) return cached;
  let verdict: IdentityVerdict;
  if (!socket.authorized) {
    verdict = { ok: false, reason: `no verified client certificate (${String(socket.authorizationError ?? 'none presented')})` };
  } else {
    const cert = socket.getPeerCertificate();
    verdict =
      cert && Object.keys(cert).length > 0
        ? checkPeerIdentity(cert.subjectaltname, policy)
        : { ok: false, reason: 'no client certificate presented' };
  }
  verdicts.set(socket, verdict);
  return verdict;
}

/** The caller's SPIFFE ID once {@link spiffeAuthorizer} accepted the request, else undefined. */
export function peerIdentity(req: IncomingMessage): string | undefined {
  return accepted.get(req);
}

/** Settings of {@link serverTlsOptions}. */
export interface ServerTlsSettings {
  /** The CA bundle client certificates must chain to (PEM, Buffer or `{ file }`). */
  ca: TlsSource;
  /** The server's certificate chain. */
  cert: TlsSource;
  /** The server's private key. */
  key: TlsSource;
  /** Lowest TLS version accepted. Default `'TLSv1.2'`. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * Refuse clients without a verified certificate during the handshake.
   * Default `true`. With `false`, such clients connect and
   * {@link spiffeAuthorizer} answers them 403 (more helpful, but every
   * handler must then call it).
   */
  rejectUnauthorized?: boolean;
}

/**
 * `node:https` server options for mTLS: the server's certificate and key,
 * the CA that signs client certificates, and a request for a client
 * certificate. Material is read and validated now; throws
 * {@link MeshConfigError} naming the field.
 */
export function serverTlsOptions(settings: ServerTlsSettings): ServerOptions {
  const issues: ConfigIssue[] = [];
  const sources: Partial<Record<'ca' | 'cert' | 'key', ResolvedSource>> = {};
  for (const f of ['ca', 'cert', 'key'] as const) {
    const s = checkSource(settings?.[f], f, issues);
    if (s) sources[f] = s;
  }
  const minVersion = settings?.minVersion ?? 'TLSv1.2';
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') issues.push({ path: 'minVersion', message: 'expected "TLSv1.2" or "TLSv1.3"' });
  if (issues.length > 0) throw new MeshConfigError(issues);
  const raw = readSourcesSync(sources, '', issues);
  const material = issues.length === 0 ? validateMaterial(raw, minVersion, Date.now(), '', issues) : undefined;
  if (!material) throw new MeshConfigError(issues.map((i) => ({ ...i, path: i.path.replace(/^\./, '') })));
  return {
    ca: material.ca,
    cert: material.cert,
    key: material.key,
    minVersion,
    requestCert: true,
    rejectUnauthorized: settings.rejectUnauthorized ?? true,
  };
}

/** Settings of {@link watchServerTls}. */
export interface ServerTlsWatchSettings extends ServerTlsSettings {
  /** Wait this long after a change event before reloading, in ms. Default 100. */
  debounceMs?: number;
  /** Re-read the files this often, in ms, whatever `fs.watch` says. Default 5000. */
  pollMs?: number;
  /** Called after new material was applied. */
  onUpdate?: () => void;
  /** Called when new material was refused (the current material stays), with the reason. */
  onRejected?: (reason: string) => void;
  /** Clock for the timers (tests). Default: the real one. */
  clock?: Clock;
}

/** Stops a {@link watchServerTls} watch. */
export interface ServerTlsWatch {
  /** Stops watching and polling; the server keeps its current material. */
  close(): void;
}

/**
 * Rotates a `node:https` server's certificate, key and client CA when their
 * `{ file }` sources change: new handshakes use the new material
 * (`server.setSecureContext`), open connections are untouched. Invalid or
 * unreadable material is refused (`onRejected`) and the current stays.
 * Watches the files' directories (rotation tools rename files into place)
 * and polls every `pollMs`.
 */
export function watchServerTls(server: Server, settings: ServerTlsWatchSettings): ServerTlsWatch {
  const issues: ConfigIssue[] = [];
  const sources: Partial<Record<'ca' | 'cert' | 'key', ResolvedSource>> = {};
  for (const f of ['ca', 'cert', 'key'] as const) {
    const s = checkSource(settings?.[f], f, issues);
    if (s) sources[f] = s;
  }
  if (issues.length > 0) throw new MeshConfigError(issues);
  const clock = settings.clock ?? systemClock;
  const minVersion = settings.minVersion ?? 'TLSv1.2';
  const debounceMs = settings.debounceMs ?? 100;
  const pollMs = settings.pollMs ?? 5000;
  let current: RawMaterial = readSourcesSync(sources, '', issues);
  if (issues.length > 0) throw new MeshConfigError(issues.map((i) => ({ ...i, path: i.path.replace(/^\./, '') })));
  let lastRejected: string | undefined;
  let closed = false;
  let debounce: TimerHandle | undefined;
  let poll: TimerHandle | undefined;
  let reloading = false;

  const reload = async (): Promise<void> => {
    if (reloading || closed) return;
    reloading = true;
    try {
      const raw = await readSources(sources);
      if (closed || sameRaw(raw, current)) return;
      const problems: ConfigIssue[] = [];
      const material = validateMaterial(raw, minVersion, clock.wallNow(), 'tls', problems);
      if (!material) throw new Error(problems.map((i) => `${i.path}: ${i.message}`).join('; '));
      server.setSecureContext({ ca: material.ca, cert: material.cert, key: material.key, minVersion });
      current = raw;
      lastRejected = undefined;
      settings.onUpdate?.();
    } catch (error) {
      const reason = (error as Error).message;
      if (reason !== lastRejected && !closed) {
        lastRejected = reason;
        settings.onRejected?.(reason);
      }
    } finally {
      reloading = false;
    }
  };
  const byDir = new Map<string, Set<string>>();
  for (const file of sourceFiles(sources)) {
    const names = byDir.get(dirname(file)) ?? new Set<string>();
    names.add(basename(file));
    byDir.set(dirname(file), names);
  }
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename !== null && !names.has(String(filename))) return;
        if (debounce !== undefined) clock.clearTimeout(debounce);
        debounce = clock.setTimeout(() => {
          debounce = undefined;
          void reload();
        }, debounceMs);
      });
      w.on('error', () => w.close());
      watchers.push(w);
    } catch {
      // Polling still rotates.
    }
  }
  const schedule = (): void => {
    poll = clock.setTimeout(() => {
      void reload().finally(() => {
        if (!closed) schedule();
      });
    }, pollMs);
  };
  if (byDir.size > 0) schedule();
  return {
    close() {
      closed = true;
      for (const w of watchers) w.close();
      if (debounce !== undefined) clock.clearTimeout(debounce);
      if (poll !== undefined) clock.clearTimeout(poll);
    },
  };
}
