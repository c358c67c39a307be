import { join } from '../util/checks.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { checkedOptions } from '../util/schema-options.js';
import { closestName } from '../util/suggest.js';
import { getDiscoveryProvider, listDiscoveryProviders } from './provider-registry.js';
import { isDiscoveryProvider, type DiscoveryProvider } from './provider.js';
import type { DiscoveryRef } from './registry.js';

/** A discovery provider spec: a registered type and its options. */
export interface DiscoverySpec {
  /** A registered provider type, e.g. `'file'` or `'dns'`. */
  type: string;
  /** The provider type's own options, e.g. `path`. */
  [option: string]: unknown;
}

/**
 * The `discovery` option: a provider, a spec of a registered type
 * (`{ type: 'file', path: 'endpoints.json' }`), or a list of them in order
 * of preference (the next one is used while the previous is down or empty).
 */
export type DiscoveryOption = DiscoveryProvider | DiscoverySpec | readonly (DiscoveryProvider | DiscoverySpec)[];

/** Validates a `discovery` option; returns `undefined` when absent. */
export function resolveDiscovery(value: unknown, path: string, issues: ConfigIssue[]): readonly DiscoveryRef[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  // The shape (a provider, a `{ type }` spec, a non-empty list) is the
  // configuration schema's: its structural pass reports a malformed one.
  if (list.length === 0) return undefined;
  const refs: DiscoveryRef[] = [];
  list.forEach((item: unknown, i) => {
    const itemPath = Array.isArray(value) ? join(path, i) : path;
    if (isDiscoveryProvider(item)) {
      if (refs.some((r) => r.kind === 'instance' && r.provider === item)) {
        issues.push({ path: itemPath, message: 'the same provider is listed twice' });
      } else refs.push({ kind: 'instance', provider: item });
      return;
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return;
    const { type, ...options } = item as Record<string, unknown>;
    if (typeof type !== 'string' || type === '') return;
    const definition = getDiscoveryProvider(type);
    if (!definition) {
      const known = listDiscoveryProviders();
      const near = closestName(type, known);
      issues.push({
        path: join(itemPath, 'type'),
        message: `unknown discovery provider type "${type}" (${near === undefined ? '' : `did you mean "${near}"? `}known: ${known.join(', ')})`,
      });
      return;
    }
    const before = issues.length;
    const filled = checkedOptions(definition, options, itemPath, issues);
    if (issues.length > before) return;
    refs.push(Object.freeze({ kind: 'spec', type, options: Object.freeze(filled), key: `${type}:${stableJson(filled)}` }));
  });
  return Object.freeze(refs);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
