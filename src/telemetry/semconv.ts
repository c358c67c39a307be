import { isIP } from 'node:net';

/**
 * Attribute names of the stable OpenTelemetry HTTP semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/), spelled out here so
 * proxyless depends on `@opentelemetry/api` only.
 */
export const ATTR = Object.freeze({
  HTTP_REQUEST_METHOD: 'http.request.method',
  HTTP_REQUEST_METHOD_ORIGINAL: 'http.request.method_original',
  HTTP_REQUEST_RESEND_COUNT: 'http.request.resend_count',
  HTTP_RESPONSE_STATUS_CODE: 'http.response.status_code',
  SERVER_ADDRESS: 'server.address',
  SERVER_PORT: 'server.port',
  URL_FULL: 'url.full',
  URL_SCHEME: 'url.scheme',
  ERROR_TYPE: 'error.type',
  NETWORK_PEER_ADDRESS: 'network.peer.address',
  NETWORK_PEER_PORT: 'network.peer.port',
  NETWORK_PROTOCOL_VERSION: 'network.protocol.version',
} as const);

/** Attribute names proxyless adds, all under `proxyless.`. */
export const MESH_ATTR = Object.freeze({
  SERVICE: 'proxyless.service',
  ROUTE: 'proxyless.route',
  /** Fault injection applied to the request: `delay`, `abort` or `delay,abort`. */
  FAULT: 'proxyless.fault',
  DESTINATION: 'proxyless.destination',
  ATTEMPTS: 'proxyless.attempts',
  ATTEMPT: 'proxyless.attempt',
  EGRESS: 'proxyless.egress',
  ENDPOINT: 'proxyless.endpoint',
  POLICY: 'proxyless.lb.policy',
  CANDIDATES: 'proxyless.lb.candidates',
  OUTCOME: 'proxyless.outcome',
  REASON: 'proxyless.reason',
  STATE: 'proxyless.circuit.state',
  PROVIDER: 'proxyless.discovery.provider',
} as const);

/** The methods the conventions know; any other is reported as `_OTHER`. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);

/** `http.request.method` for a method as sent: the upper-case known method, else `_OTHER`. */
export function normalizeMethod(method: string): string {
  if (KNOWN_METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : '_OTHER';
}

/** Query keys whose values the conventions ask to redact in `url.full`. */
const SENSITIVE_QUERY_KEYS = new Set(['awsaccesskeyid', 'signature', 'sig', 'x-goog-signature']);

/**
 * `url.full` for an origin (`scheme://host[:port]`) and a request path:
 * credentials become `REDACTED:REDACTED@` and the values of the query
 * parameters `AWSAccessKeyId`, `Signature`, `sig` and `X-Goog-Signature`
 * become `REDACTED`, as the conventions ask.
 */
export function fullUrl(origin: string, path: string): string {
  let base = origin.endsWith('/') ? origin.slice(0, -1) : origin;
  const at = base.indexOf('@');
  if (at !== -1) {
    const scheme = base.indexOf('//') + 2;
    base = `${base.slice(0, scheme)}REDACTED:REDACTED${base.slice(at)}`;
  }
  const q = path.indexOf('?');
  if (q === -1) return base + path;
  const hash = path.indexOf('#', q);
  const query = path.slice(q + 1, hash === -1 ? undefined : hash);
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    let key = part.slice(0, eq);
    try {
      key = decodeURIComponent(key);
    } catch {
      // keep the raw key
    }
    if (SENSITIVE_QUERY_KEYS.has(key.toLowerCase())) parts[i] = `${part.slice(0, eq)}=REDACTED`;
  }
  return `${base}${path.slice(0, q)}?${parts.join('&')}${hash === -1 ? '' : path.slice(hash)}`;
}

/** Where an attempt goes, as the conventions name it. */
export interface Target {
  readonly scheme: 'http' | 'https';
  /** `server.address`: the host (no brackets for IPv6). */
  readonly address: string;
  /** `server.port`. */
  readonly port: number;
  /** The origin used in `url.full`. */
  readonly origin: string;
  /** True when the address is an IP literal: then it is also `network.peer.address`. */
  readonly ip: boolean;
}

const targets = new Map<string, Target>();

/** The {@link Target} of an origin URL (cached: origins are few). */
export function targetOf(origin: string): Target {
  let t = targets.get(origin);
  if (t !== undefined) return t;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return Object.freeze({ scheme: 'http', address: origin, port: 0, origin, ip: false });
  }
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  t = Object.freeze({ scheme, address, port, origin: url.origin, ip: isIP(address) !== 0 });
  if (targets.size >= 1024) targets.clear();
  targets.set(origin, t);
  return t;
}

/**
 * `error.type` of an attempt or request: the status code as a string for a
 * 4xx/5xx response, else the error's `code` (e.g. `ECONNREFUSED`,
 * `UND_ERR_SOCKET`, `MESH_TIMEOUT`) or its name, else `_OTHER`.
 */
export function errorType(status: number | undefined, error: unknown): string | undefined {
  if (error !== undefined && error !== null) {
    if (typeof error === 'object') {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && code !== '') return code;
      const name = (error as { name?: unknown }).name;
      if (typeof name === 'string' && name !== '' && name !== 'Error') return name;
    }
    return '_OTHER';
  }
  if (status !== undefined && status >= 400) return String(status);
  return undefined;
}
