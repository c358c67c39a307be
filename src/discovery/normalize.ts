import { isIP } from 'node:net';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { describe } from '../util/describe.js';
import { parseEndpoint, type Endpoint } from '../endpoint/endpoint.js';
import type { DiscoveredEndpoint, DiscoveredEntry } from './provider.js';

const ADDRESS_KEYS = ['address', 'port', 'protocol', 'weight', 'zone', 'priority', 'labels'];

/**
 * Validates one discovered endpoint (a URL string, `{ url, ... }` or
 * `{ address, port, ... }`). Returns the endpoint, or the problems found
 * (each with a path under `key`).
 */
export function normalizeDiscovered(input: unknown, key: string): { endpoint?: Endpoint; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  let candidate: unknown = input;
  if (typeof input === 'object' && input !== null && !Array.isArray(input) && 'address' in input) {
    const raw = input as Record<string, unknown>;
    for (const k of Object.keys(raw)) {
      if (!ADDRESS_KEYS.includes(k)) issues.push({ path: `${key}.${k}`, message: `unknown endpoint field "${k}"` });
    }
    const { address, port, protocol, ...rest } = raw;
    if (typeof address !== 'string' || address === '' || /[\s/@?#]/.test(address)) {
      issues.push({ path: `${key}.address`, message: `expected a host name or IP address, found ${describe(address)}` });
    }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      issues.push({ path: `${key}.port`, message: `expected an integer port 1-65535, found ${describe(port)}` });
    }
    if (protocol !== undefined && protocol !== 'http' && protocol !== 'https') {
      issues.push({ path: `${key}.protocol`, message: `expected "http" or "https", found ${describe(protocol)}` });
    }
    if (issues.length > 0) return { issues };
    const host = isIP(address as string) === 6 ? `[${address as string}]` : (address as string);
    candidate = { url: `${(protocol as string | undefined) ?? 'http'}://${host}:${port as number}`, ...rest };
  }
  const endpoint = parseEndpoint(candidate, key, issues);
  if (!endpoint && issues.length === 0) issues.push({ path: key, message: 'invalid endpoint' });
  return endpoint ? { endpoint, issues } : { issues };
}

/** True when a pushed item is a {@link DiscoveredEntry} (an endpoint with a key). */
export function isEntry(item: DiscoveredEndpoint | DiscoveredEntry): item is DiscoveredEntry {
  return typeof item === 'object' && item !== null && 'endpoint' in item && 'key' in item;
}
