import type { ConfigIssue } from '../errors/mesh-error.js';
import { defaultsOf, objectBranch } from '../util/schema-defaults.js';
import { schemaIssues } from '../util/schema-issues.js';
import { ENDPOINT_INPUT_SCHEMA } from './schema.js';

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

const FILL = defaultsOf(objectBranch(ENDPOINT_INPUT_SCHEMA)!) as { weight: number; priority: number };

/**
 * Parses and validates one endpoint: its shape against
 * {@link ENDPOINT_INPUT_SCHEMA}, then what a schema cannot say about its URL
 * (absolute, http(s), an origin only, no credentials). Problems are appended
 * to `issues` with paths under `path`; returns `undefined` when the endpoint
 * is unusable. The discovery registry checks pushed entries with it.
 */
export function parseEndpoint(input: unknown, path: string, issues: ConfigIssue[]): Endpoint | undefined {
  const shape = schemaIssues(input, ENDPOINT_INPUT_SCHEMA, path);
  if (shape.length > 0) {
    issues.push(...shape);
    return undefined;
  }
  return endpointOf(input as EndpointInput, path, issues);
}

/**
 * An endpoint whose shape is known to fit {@link ENDPOINT_INPUT_SCHEMA} (the
 * configuration's structural pass checked it): only its URL is checked here.
 */
export function endpointOf(input: EndpointInput, path: string, issues: ConfigIssue[]): Endpoint | undefined {
  const before = issues.length;
  const raw = typeof input === 'string' ? { url: input } : input;
  const urlPath = typeof input === 'string' ? path : `${path}.url`;
  let url: URL | undefined;
  if (typeof raw.url === 'string') {
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
  const weight = typeof raw.weight === 'number' ? raw.weight : FILL.weight;
  const zone = typeof raw.zone === 'string' ? raw.zone : undefined;
  const priority = typeof raw.priority === 'number' ? raw.priority : FILL.priority;
  const labels = raw.labels && typeof raw.labels === 'object' ? Object.freeze({ ...raw.labels }) : EMPTY_LABELS;
  if (issues.length > before || !url) return undefined;
  const protocol = url.protocol as 'http:' | 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port ? Number(url.port) : protocol === 'https:' ? 443 : 80;
  return Object.freeze({ url: url.origin, protocol, host, port, weight, zone, priority, labels });
}
