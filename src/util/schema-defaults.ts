import { Kind, type TSchema } from '@sinclair/typebox';

/**
 * What an absent option means, read off its schema: each property's
 * `default`, and for a block whose default is `{}` (on), that block's own
 * defaults in turn. Properties without a default are left out. The schema is
 * the one place defaults are written; resolvers fill in from this.
 */
export function defaultsOf(schema: TSchema): Record<string, unknown> {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(properties)) {
    const fallback = (property as { default?: unknown }).default;
    if (fallback === undefined) continue;
    if (isBlockOn(fallback)) {
      const block = objectBranch(property);
      out[key] = block ? defaultsOf(block) : {};
    } else out[key] = Array.isArray(fallback) ? [...(fallback as unknown[])] : fallback;
  }
  return out;
}

/** `{}` as a default: the block is on, with its own defaults. */
function isBlockOn(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** The object schema of `schema`, or of the one object member of a union (`Block | false`). */
export function objectBranch(schema: TSchema): TSchema | undefined {
  const s = schema as { [Kind]?: string; anyOf?: TSchema[] };
  if (s[Kind] === 'Object') return schema;
  return s.anyOf?.find((m) => (m as { [Kind]?: string })[Kind] === 'Object');
}
