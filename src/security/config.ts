import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from '../util/checks.js';
import { describe } from '../util/describe.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { isTrustDomain, parseSpiffeId, type IdentityPolicy } from './spiffe.js';
import {
  checkSource,
  readSourcesSync,
  validateMaterial,
  type MaterialSources,
  type RawMaterial,
  type ResolvedSource,
  type TlsMaterial,
} from './tls-material.js';
import type { AuthHook } from './types.js';
import { defaultsOf } from '../util/schema-defaults.js';
import { TLS_SCHEMA, TLS_WATCH_SCHEMA } from './schema.js';

const TLS_FILL = defaultsOf(TLS_SCHEMA) as { minVersion: 'TLSv1.2' | 'TLSv1.3' };

/** Defaults of the security options, read off their schema (src/security/schema.ts). */
export const SECURITY_DEFAULTS = Object.freeze({
  minVersion: TLS_FILL.minVersion,
  requireTls: false,
  watch: Object.freeze(defaultsOf(TLS_WATCH_SCHEMA) as { debounceMs: number; pollMs: number }),
});

/** File-watch settings, resolved. */
export interface ResolvedWatch {
  readonly debounceMs: number;
  readonly pollMs: number;
}

/** A service's TLS settings, validated, with the material loaded. */
export interface ResolvedTls {
  readonly sources: MaterialSources;
  /** The material as read at configuration time. */
  readonly raw: RawMaterial;
  readonly material: TlsMaterial;
  readonly servername: string | undefined;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly identity: IdentityPolicy | undefined;
  /** `false` when no source is a file or watching is off. */
  readonly watch: ResolvedWatch | false;
  /** Equal for two configurations that mean the same TLS settings (a runtime is kept across updates then). */
  readonly fingerprint: string;
}

/** The security settings of one service. */
export interface ResolvedServiceSecurity {
  readonly tls: ResolvedTls | undefined;
  readonly requireTls: boolean;
  readonly auth: AuthHook | undefined;
}

/** Security settings every service inherits from `defaults`. */
export interface ResolvedSecurityDefaults {
  readonly tls: ResolvedTls | undefined;
  /** `defaults.tls` as written: a service's `tls` is merged over it, field by field. */
  readonly rawTls: Record<string, unknown> | undefined;
  readonly requireTls: boolean;
}

/** No defaults set. */
export const NO_SECURITY_DEFAULTS: ResolvedSecurityDefaults = Object.freeze({ tls: undefined, rawTls: undefined, requireTls: false });

// Keys, types and bounds of `tls`, `requireTls`, `auth` and `egress` are the
// schema's (src/security/schema.ts): its structural pass reports them, and a
// configuration with structural issues is refused whole. What is left here is
// what a schema cannot say: cert and key together, an SNI name that is not an
// IP address, an identity's SPIFFE IDs and trust domain, the material itself
// (read, parsed, not expired), plaintext endpoints in a service that requires
// TLS, and host patterns.

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Validates `defaults.tls` and `defaults.requireTls`. */
export function resolveSecurityDefaults(
  d: Record<string, unknown>,
  path: string,
  issues: ConfigIssue[],
): ResolvedSecurityDefaults {
  const tls = d.tls === undefined || d.tls === false ? undefined : resolveTls(d.tls, join(path, 'tls'), issues);
  const requireTls = typeof d.requireTls === 'boolean' ? d.requireTls : SECURITY_DEFAULTS.requireTls;
  return Object.freeze({ tls, rawTls: isObject(d.tls) ? d.tls : undefined, requireTls });
}

/**
 * Validates the security options of one service (`tls`, `requireTls`,
 * `auth`) against its static endpoints: with `requireTls` (or an identity)
 * a plaintext endpoint is an error.
 */
export function resolveServiceSecurity(
  svc: Record<string, unknown>,
  endpoints: readonly Endpoint[],
  path: string,
  issues: ConfigIssue[],
  defaults: ResolvedSecurityDefaults,
): ResolvedServiceSecurity {
  // A service's tls is merged over defaults.tls, field by field; `false` turns TLS settings off.
  const tls =
    svc.tls === undefined
      ? defaults.tls
      : svc.tls === false
        ? undefined
        : resolveTls(defaults.rawTls && isObject(svc.tls) ? { ...defaults.rawTls, ...svc.tls } : svc.tls, join(path, 'tls'), issues);
  let requireTls = typeof svc.requireTls === 'boolean' ? svc.requireTls : defaults.requireTls;
  if (tls?.identity) {
    if (svc.requireTls === false) {
      issues.push({
        path: join(path, 'requireTls'),
        message: 'a service with tls.identity requires TLS: an identity cannot be proven over plaintext',
      });
    }
    requireTls = true;
  }
  if (requireTls) {
    endpoints.forEach((e, i) => {
      if (e.protocol !== 'https:') {
        issues.push({
          path: join(join(path, 'endpoints'), i),
          message: `plaintext endpoint ${e.url} in a service that requires TLS (use https://)`,
        });
      }
    });
  }
  const auth = typeof svc.auth === 'function' ? (svc.auth as AuthHook) : undefined;
  return Object.freeze({ tls, requireTls, auth });
}

/** Validates a `tls` block and loads its material. */
export function resolveTls(value: unknown, path: string, issues: ConfigIssue[]): ResolvedTls | undefined {
  if (!isObject(value)) return undefined;
  const before = issues.length;
  const sources: Partial<Record<'ca' | 'cert' | 'key', ResolvedSource>> = {};
  for (const f of ['ca', 'cert', 'key'] as const) {
    if (value[f] === undefined) continue;
    const s = checkSource(value[f], join(path, f), issues);
    if (s) sources[f] = s;
  }
  if ((value.cert === undefined) !== (value.key === undefined)) {
    issues.push({
      path: join(path, value.cert === undefined ? 'cert' : 'key'),
      message: 'cert and key go together: a client certificate needs its private key',
    });
  }
  let servername: string | undefined;
  if (typeof value.servername === 'string') {
    if (isIP(value.servername) !== 0) {
      issues.push({
        path: join(path, 'servername'),
        message: `expected a DNS name (SNI cannot carry an IP address), found ${describe(value.servername)}`,
      });
    } else servername = value.servername;
  }
  const minVersion: 'TLSv1.2' | 'TLSv1.3' = value.minVersion === 'TLSv1.3' ? 'TLSv1.3' : SECURITY_DEFAULTS.minVersion;
  const identity = value.identity === undefined ? undefined : resolveIdentity(value.identity, join(path, 'identity'), issues);
  if (value.identity !== undefined && value.ca === undefined) {
    issues.push({
      path: join(path, 'ca'),
      message: 'tls.identity needs tls.ca, the trust bundle of the trust domain (public CAs do not issue SPIFFE IDs)',
    });
  }
  const hasFiles = Object.values(sources).some((s) => 'file' in s);
  let watch: ResolvedWatch | false = hasFiles ? SECURITY_DEFAULTS.watch : false;
  if (value.watch === false) watch = false;
  else if (isObject(value.watch)) {
    const w = value.watch;
    const num = (key: 'debounceMs' | 'pollMs'): number => (typeof w[key] === 'number' ? w[key] : SECURITY_DEFAULTS.watch[key]);
    watch = hasFiles ? Object.freeze({ debounceMs: num('debounceMs'), pollMs: num('pollMs') }) : false;
  }
  if (issues.length > before) return undefined;
  const frozenSources = Object.freeze(sources);
  const raw = readSourcesSync(frozenSources, path, issues);
  if (issues.length > before) return undefined;
  const material = validateMaterial(raw, minVersion, Date.now(), path, issues);
  if (!material) return undefined;
  const fingerprint = JSON.stringify({
    sources: Object.fromEntries(
      Object.entries(frozenSources).map(([k, s]) => [
        k,
        'file' in s ? { file: s.file } : createHash('sha256').update(s.value).digest('hex'),
      ]),
    ),
    servername,
    minVersion,
    identity,
    watch,
  });
  return Object.freeze({ sources: frozenSources, raw, material, servername, minVersion, identity, watch, fingerprint });
}

function resolveIdentity(value: unknown, path: string, issues: ConfigIssue[]): IdentityPolicy | undefined {
  if (!isObject(value)) return undefined;
  let trustDomain: string | undefined;
  if (value.trustDomain !== undefined) {
    if (typeof value.trustDomain === 'string' && isTrustDomain(value.trustDomain)) trustDomain = value.trustDomain;
    else {
      issues.push({
        path: join(path, 'trustDomain'),
        message: `expected a trust domain (lower-case letters, digits, ".", "-", "_"), found ${describe(value.trustDomain)}`,
      });
    }
  }
  let allow: string[] | undefined;
  if (value.allow !== undefined) {
    if (!Array.isArray(value.allow) || value.allow.length === 0) {
      issues.push({ path: join(path, 'allow'), message: `expected a non-empty array of SPIFFE IDs, found ${describe(value.allow)}` });
    } else {
      const ids: string[] = [];
      value.allow.forEach((id: unknown, i) => {
        const p = join(join(path, 'allow'), i);
        if (typeof id !== 'string') {
          issues.push({ path: p, message: `expected a SPIFFE ID, found ${describe(id)}` });
          return;
        }
        const parsed = parseSpiffeId(id);
        if (typeof parsed === 'string') issues.push({ path: p, message: `"${id}" is not a SPIFFE ID: ${parsed}` });
        else if (trustDomain !== undefined && parsed.trustDomain !== trustDomain) {
          issues.push({ path: p, message: `"${id}" is not in the trust domain "${trustDomain}"` });
        } else ids.push(id);
      });
      allow = ids;
    }
  }
  if (value.trustDomain === undefined && value.allow === undefined) {
    issues.push({ path, message: 'an identity needs a trustDomain, an allow-list of SPIFFE IDs, or both' });
  }
  return Object.freeze({ trustDomain, allow: allow && Object.freeze(allow) });
}

/** The egress policy, resolved: the mode and the hosts allowed when it is `'deny'`. */
export interface ResolvedEgress {
  readonly egress: 'allow' | 'deny';
  readonly egressAllow: readonly string[];
}

/** Validates the `egress` option: `'allow'`, `'deny'` or `{ mode: 'deny', allow: [hosts] }`. */
export function resolveEgress(value: unknown, fallback: 'allow' | 'deny', issues: ConfigIssue[]): ResolvedEgress {
  // The shape of the `egress` option (EgressOption in src/config/types.ts), as far as this check reads it.
  const v = value as 'allow' | 'deny' | { mode?: unknown; allow?: unknown } | undefined;
  if (v === undefined) return { egress: fallback, egressAllow: [] };
  if (v === 'allow' || v === 'deny') return { egress: v, egressAllow: [] };
  if (!isObject(v)) return { egress: fallback, egressAllow: [] };
  const allow: string[] = [];
  if (Array.isArray(v.allow)) {
    v.allow.forEach((pattern: unknown, i) => {
      // Not a non-empty string: the structural pass reported it.
      if (typeof pattern !== 'string' || pattern === '') return;
      const problem = checkHostPattern(pattern);
      if (problem) issues.push({ path: `egress.allow.${i}`, message: problem });
      else allow.push((pattern as string).toLowerCase());
    });
  }
  return { egress: 'deny', egressAllow: Object.freeze(allow) };
}

const HOST_LABELS = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function checkHostPattern(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string' || pattern === '') return `expected a host name, an IP address or "*.domain", found ${describe(pattern)}`;
  if (isIP(pattern) !== 0) return undefined;
  const name = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  if (!HOST_LABELS.test(name)) {
    return `expected a host name (no scheme, port or path), an IP address or "*.domain", found "${pattern}"`;
  }
  return undefined;
}
