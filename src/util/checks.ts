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

/** Numeric bounds for {@link checkNumber}. */
export interface NumberRule {
  min?: number;
  max?: number;
  /** `min` itself is not allowed. */
  exclusiveMin?: boolean;
  integer?: boolean;
}

/** Checks an optional number; returns it, or `fallback` when absent or invalid. */
export function checkNumber(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  rule: NumberRule,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min === undefined || (rule.exclusiveMin ? value > rule.min : value >= rule.min)) &&
    (rule.max === undefined || value <= rule.max);
  if (ok) return value;
  const parts: string[] = [rule.integer ? 'an integer' : 'a finite number'];
  if (rule.min !== undefined) parts.push(`${rule.exclusiveMin ? '>' : '>='} ${rule.min}`);
  if (rule.max !== undefined) parts.push(`<= ${rule.max}`);
  issues.push({ path, message: `expected ${parts.join(' ')}, found ${describe(value)}` });
  return fallback;
}

/** Checks an optional value against a list of allowed strings. */
export function checkEnum<T extends string>(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  issues.push({ path, message: `expected one of ${allowed.map((a) => `"${a}"`).join(', ')}, found ${describe(value)}` });
  return fallback;
}
