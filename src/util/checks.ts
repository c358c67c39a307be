import { describe } from './describe.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { unknownOptionMessage } from './suggest.js';

/** Joins a path and a key: `join('services', 'orders')` is `services.orders`. */
export function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

/**
 * Checks that `value` is a plain object whose keys are all in `allowed`;
 * records an issue for each unknown key (a typo in an option name is an
 * error, not silently ignored).
 */
export function checkObject(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  allowed?: readonly string[],
): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path, message: `expected an object, found ${describe(value)}` });
    return undefined;
  }
  const record = value as Record<string, unknown>;
  if (allowed) {
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) {
        issues.push({ path: join(path, key), message: unknownOptionMessage(key, allowed) });
      }
    }
  }
  return record;
}

/** Whether `value` is an object that is not an array (what a configuration block must be). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` when it is an object that is not an array, else undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}
