/**
 * SPIFFE IDs and the workload-identity check shared by the client (server
 * certificates) and `proxyless/server` (client certificates).
 *
 * The rules follow the SPIFFE ID specification and gRPC's A87 / Istio: a
 * peer proves its identity with exactly one URI SAN holding a SPIFFE ID.
 */

/** Trust domain: lower-case letters, digits, `.`, `-`, `_` (SPIFFE ID spec, section 2.1). */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
/** One path segment: letters, digits, `.`, `-`, `_` (section 2.2). */
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** SPIFFE IDs are at most 2048 bytes long (section 2.3). */
const MAX_ID_LENGTH = 2048;

/** A SPIFFE ID split into its parts. */
export interface SpiffeId {
  /** The whole ID, e.g. `spiffe://example.org/ns/prod/sa/orders`. */
  readonly id: string;
  /** The trust domain, e.g. `example.org`. */
  readonly trustDomain: string;
  /** The path, e.g. `/ns/prod/sa/orders` (may be empty). */
  readonly path: string;
}

/**
 * Parses a SPIFFE ID strictly (no upper-case trust domain, no port, user
 * info, query, fragment, percent-encoding, empty, `.` or `..` segment, no
 * trailing `/`). Returns a reason string when it is not one.
 */
export function parseSpiffeId(value: string): SpiffeId | string {
  if (value.length > MAX_ID_LENGTH) return 'a SPIFFE ID is at most 2048 characters';
  if (!value.startsWith('spiffe://')) return 'a SPIFFE ID starts with "spiffe://"';
  const rest = value.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (trustDomain === '') return 'the trust domain is empty';
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return `the trust domain "${trustDomain}" may only hold lower-case letters, digits, ".", "-" and "_"`;
  }
  if (path !== '') {
    const segments = path.slice(1).split('/');
    for (const segment of segments) {
      if (segment === '') return 'the path has an empty segment (or a trailing "/")';
      if (segment === '.' || segment === '..') return `the path has a "${segment}" segment`;
      if (!SEGMENT.test(segment)) return `the path segment "${segment}" may only hold letters, digits, ".", "-" and "_"`;
    }
  }
  return { id: value, trustDomain, path };
}

/** True when `value` is a valid SPIFFE trust domain name. */
export function isTrustDomain(value: string): boolean {
  return value.length > 0 && value.length <= 255 && TRUST_DOMAIN.test(value);
}

/**
 * The URI SANs in Node's `subjectaltname` string (`URI:a, DNS:b, ...`). Node
 * writes a value holding a delimiter as a JSON string literal, which is
 * decoded here, so a crafted SAN cannot pose as two.
 */
export function uriSans(subjectAltName: string | undefined): string[] {
  const out: string[] = [];
  if (!subjectAltName) return out;
  let i = 0;
  const s = subjectAltName;
  while (i < s.length) {
    const colon = s.indexOf(':', i);
    if (colon === -1) break;
    const type = s.slice(i, colon);
    let value: string;
    let next: number;
    if (s[colon + 1] === '"') {
      // A JSON string literal: find its closing quote, skipping escapes.
      let j = colon + 2;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(s.slice(colon + 1, j + 1)) as string;
      } catch {
        value = s.slice(colon + 2, j);
      }
      next = s.indexOf(', ', j + 1);
    } else {
      next = s.indexOf(', ', colon + 1);
      value = s.slice(colon + 1, next === -1 ? s.length : next);
    }
    if (type === 'URI') out.push(value);
    if (next === -1) break;
    i = next + 2;
  }
  return out;
}

/** Who may be on the other side: a trust domain, an allow-list of SPIFFE IDs, or both. */
export interface IdentityPolicy {
  /** Only IDs in this trust domain are accepted. */
  readonly trustDomain?: string | undefined;
  /** Only these exact IDs are accepted. When absent, any ID of {@link IdentityPolicy.trustDomain} is. */
  readonly allow?: readonly string[] | undefined;
}

/** The outcome of {@link checkPeerIdentity}: the accepted ID, or why the peer was refused. */
export type IdentityVerdict =
  | {
      /** The peer is allowed. */
      readonly ok: true;
      /** Its SPIFFE ID. */
      readonly id: string;
    }
  | {
      /** The peer is refused. */
      readonly ok: false;
      /** Why, in words. */
      readonly reason: string;
    };

/**
 * Checks a peer certificate's SANs against a policy: the certificate must
 * carry exactly one URI SAN, it must be a valid SPIFFE ID, in the trust
 * domain (when one is set) and on the allow-list (when one is set).
 *
 * @param subjectAltName Node's `subjectaltname` string of the peer certificate.
 */
export function checkPeerIdentity(subjectAltName: string | undefined, policy: IdentityPolicy): IdentityVerdict {
  const uris = uriSans(subjectAltName);
  if (uris.length === 0) return { ok: false, reason: 'the certificate carries no URI SAN (no SPIFFE ID)' };
  if (uris.length > 1) {
    return { ok: false, reason: `the certificate carries ${uris.length} URI SANs; exactly one SPIFFE ID is required` };
  }
  const uri = uris[0] as string;
  const parsed = parseSpiffeId(uri);
  if (typeof parsed === 'string') return { ok: false, reason: `"${uri}" is not a valid SPIFFE ID: ${parsed}` };
  if (policy.trustDomain !== undefined && parsed.trustDomain !== policy.trustDomain) {
    return { ok: false, reason: `"${uri}" is not in the trust domain "${policy.trustDomain}"` };
  }
  if (policy.allow !== undefined && !policy.allow.includes(uri)) {
    return { ok: false, reason: `"${uri}" is not an allowed identity` };
  }
  return { ok: true, id: uri };
}
