import { forEachHeader, type AnyHeaders } from '../util/headers.js';
import { MeshError } from '../errors/mesh-error.js';

/** An HTTP token (RFC 9110 section 5.6.2): what a header name may be. undici and Node use the same rule. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Characters a header value may not hold: controls other than HTAB (CR, LF and NUL among them) and DEL. Same as undici's. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Characters a request path may not hold: controls, space, and anything above U+00FF. Same as undici's. */
const BAD_PATH = /[^\u0021-\u00ff]/;

/** Names already found valid: requests repeat the same few names, so most checks are one lookup. */
const validNames = new Set<string>();
const VALID_NAMES_LIMIT = 1024;

/** True when `name` is a valid header name (an HTTP token). */
export function isValidHeaderName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!TOKEN.test(name)) return false;
  if (validNames.size < VALID_NAMES_LIMIT) validNames.add(name);
  return true;
}

/** True when `value` is a valid header value (no CR, LF, NUL or other control but HTAB). */
export function isValidHeaderValue(value: string): boolean {
  return !BAD_VALUE.test(value);
}

/**
 * Checks a request target: it must start with a single `/` (never an
 * absolute URL or `//host`, which could leave the chosen service or origin)
 * and hold no control character or space. Returns the refusal, or undefined.
 */
export function checkPath(path: unknown, service: string): MeshError | undefined {
  if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */ || path.charCodeAt(1) === 47 || BAD_PATH.test(path)) {
    return new MeshError(
      'MESH_INVALID_REQUEST',
      `the path must start with a single "/" and hold no control character or space (found ${JSON.stringify(path)})`,
      { service },
    );
  }
  return undefined;
}

function invalidHeader(name: string, service: string): MeshError {
  return new MeshError(
    'MESH_INVALID_REQUEST',
    `invalid request header ${JSON.stringify(name)}: header names must be HTTP tokens and values hold no CR, LF, NUL or other control character`,
    { service },
  );
}

function stringValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

/**
 * Builds the headers sent to a service's endpoint, as a flat
 * `[name, value, ...]` list: the caller's headers, validated (a bad name or a
 * value with CR, LF or NUL refuses the request before anything is sent),
 * without any `host` header, plus `host: authority` (the service's, never
 * the caller's), plus `credentials` for the names the caller did not set.
 * The caller's headers are never modified.
 */
export function prepareHeaders(
  headers: AnyHeaders,
  authority: string,
  service: string,
  credentials: readonly string[] | undefined,
): string[] | MeshError {
  const out: string[] = [];
  let bad: string | undefined;
  if (headers == null) {
    // nothing to copy
  } else if (Array.isArray(headers) && (headers.length === 0 || !Array.isArray(headers[0]))) {
    // The flat [name, value, ...] form, walked without a callback.
    for (let i = 0; i + 1 < headers.length; i += 2) {
      bad = copyHeader(out, String(headers[i]), headers[i + 1]);
      if (bad !== undefined) break;
    }
  } else if (!Array.isArray(headers) && typeof (headers as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    // A plain record, walked without a callback (the common case).
    const record = headers as Record<string, unknown>;
    for (const name of Object.keys(record)) {
      const value = record[name];
      if (value === undefined) continue;
      bad = copyHeader(out, name, value);
      if (bad !== undefined) break;
    }
  } else {
    forEachHeader(headers, (name, value) => {
      if (bad === undefined) bad = copyHeader(out, name, value);
    });
  }
  if (bad !== undefined) return invalidHeader(bad, service);
  if (credentials !== undefined && credentials.length > 0) {
    const callerSet = new Set<string>();
    for (let i = 0; i < out.length; i += 2) callerSet.add((out[i] as string).toLowerCase());
    for (let i = 0; i + 1 < credentials.length; i += 2) {
      const name = credentials[i] as string;
      if (!callerSet.has(name)) out.push(name, credentials[i + 1] as string);
    }
  }
  out.push('host', authority);
  return out;
}

/**
 * Validates one caller header and appends it to `out` (unless it is `host`,
 * whose value is checked all the same). Returns the name when it is invalid.
 */
function copyHeader(out: string[], name: unknown, value: unknown): string | undefined {
  if (typeof name !== 'string' || !isValidHeaderName(name)) return String(name);
  const isHost = name.length === 4 && name.toLowerCase() === 'host';
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) {
      const s = stringValue(v);
      if (s === undefined || BAD_VALUE.test(s)) return name;
      if (!isHost) out.push(name, s);
    }
    return undefined;
  }
  if (value === undefined) return undefined;
  const s = stringValue(value);
  if (s === undefined || BAD_VALUE.test(s)) return name;
  if (!isHost) out.push(name, s);
  return undefined;
}

/** Validates request headers without copying them (for egress requests). Returns the refusal, or undefined. */
export function checkHeaders(headers: AnyHeaders, host: string): MeshError | undefined {
  let bad: string | undefined;
  forEachHeader(headers, (name, value) => {
    if (bad !== undefined) return;
    if (typeof name !== 'string' || !isValidHeaderName(name)) {
      bad = String(name);
      return;
    }
    const values: unknown[] = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v === undefined) continue;
      const s = stringValue(v);
      if (s === undefined || BAD_VALUE.test(s)) {
        bad = name;
        return;
      }
    }
  });
  return bad === undefined ? undefined : invalidHeader(bad, host);
}
