import type { ConfigIssue } from '../errors/mesh-error.js';
import { describe } from '../util/describe.js';

/**
 * An endpoint as written in configuration or pushed by discovery: a URL
 * string, or an object with the URL and its attributes.
 */
export type EndpointInput =
  | string
  | {
      /** `http://host:port` or `https://host:port`; a path, query or credentials are not allowed. */
      url: string;
      /** Relative share of traffic, a finite number > 0. Default 1. */
      weight?: number;
      /** Locality zone, e.g. `eu-west-1a`. */
      zone?: string;
      /** Priority level: 0 is the highest and the default. */
      priority?: number;
      /** Labels used by route subsets, e.g. `{ version: 'v2' }`. */
      labels?: Record<string, string>;
    };

/**
 * An endpoint of a service, normalised and frozen. Two endpoints with the same
 * {@link Endpoint.url} are the same endpoint.
 */
export interface Endpoint {
  /** The normalised origin, e.g. `http://127.0.0.1:8081`. Also the endpoint's identity. */
  readonly url: string;
  /** `http:` or `https:`. */
  readonly protocol: 'http:' | 'https:';
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** Relative share of traffic (> 0). */
  readonly weight: number;
  /** Locality zone, when known. */
  readonly zone: string | undefined;
  /** Priority level, 0 highest. */
  readonly priority: number;
  /** Labels (frozen). */
  readonly labels: Readonly<Record<string, string>>;
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Parses and validates one endpoint. Problems are appended to `issues` with
 * paths under `path`; returns `undefined` when the endpoint is unusable.
 */
export function parseEndpoint(input: unknown, path: string, issues: ConfigIssue[]): Endpoint | undefined {
  const before = issues.length;
  let raw: Record<string, unknown>;
  if (typeof input === 'string') raw = { url: input };
  else if (typeof input === 'object' && input !== null && !Array.isArray(input)) raw = input as Record<string, unknown>;
  else {
    issues.push({ path, message: `expected a URL string or an object with a url, found ${describe(input)}` });
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!['url', 'weight', 'zone', 'priority', 'labels'].includes(key)) {
      issues.push({ path: `${path}.${key}`, message: `unknown endpoint field "${key}"` });
    }
  }
  const urlPath = typeof input === 'string' ? path : `${path}.url`;
  let url: URL | undefined;
  if (typeof raw.url !== 'string') {
    issues.push({ path: urlPath, message: `expected a URL string, found ${describe(raw.url)}` });
  } else {
    try {
      url = new URL(raw.url);
    } catch {
      issues.push({ path: urlPath, message: `expected an absolute http(s) URL, found "${raw.url}"` });
    }
    if (url) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        issues.push({ path: urlPath, message: `expected protocol http: or https:, found "${url.protocol}"` });
      }
      if (url.username || url.password) {
        issues.push({ path: urlPath, message: 'credentials are not allowed in an endpoint URL' });
      }
      if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
        issues.push({ path: urlPath, message: `an endpoint is an origin only (scheme://host:port), found "${raw.url}"` });
      }
    }
  }
  let weight = 1;
  if (raw.weight !== undefined) {
    if (typeof raw.weight !== 'number' || !Number.isFinite(raw.weight) || raw.weight <= 0) {
      issues.push({ path: `${path}.weight`, message: `expected a finite number > 0, found ${describe(raw.weight)}` });
    } else weight = raw.weight;
  }
  let zone: string | undefined;
  if (raw.zone !== undefined) {
    if (typeof raw.zone !== 'string' || raw.zone === '') {
      issues.push({ path: `${path}.zone`, message: `expected a non-empty string, found ${describe(raw.zone)}` });
    } else zone = raw.zone;
  }
  let priority = 0;
  if (raw.priority !== undefined) {
    if (typeof raw.priority !== 'number' || !Number.isInteger(raw.priority) || raw.priority < 0) {
      issues.push({ path: `${path}.priority`, message: `expected an integer >= 0, found ${describe(raw.priority)}` });
    } else priority = raw.priority;
  }
  let labels = EMPTY_LABELS;
  if (raw.labels !== undefined) {
    if (typeof raw.labels !== 'object' || raw.labels === null || Array.isArray(raw.labels)) {
      issues.push({ path: `${path}.labels`, message: `expected an object of string values, found ${describe(raw.labels)}` });
    } else {
      for (const [k, v] of Object.entries(raw.labels)) {
        if (typeof v !== 'string') {
          issues.push({ path: `${path}.labels.${k}`, message: `expected a string, found ${describe(v)}` });
        }
      }
      labels = Object.freeze({ ...(raw.labels as Record<string, string>) });
    }
  }
  if (issues.length > before || !url) return undefined;
  const protocol = url.protocol as 'http:' | 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port ? Number(url.port) : protocol === 'https:' ? 443 : 80;
  return Object.freeze({ url: url.origin, protocol, host, port, weight, zone, priority, labels });
}
