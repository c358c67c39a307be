/**
 * The building blocks the configuration schema is written with (TypeBox),
 * shared by every schema fragment: a description on every value, bounds as
 * JSON Schema keywords, `false` for a block that is off.
 */
import { Kind, Type, TypeRegistry, type TLiteral, type TSchema, type TUnion, type TUnsafe } from '@sinclair/typebox';

/** The kind of the schemas of values that only code can give (functions, Buffers, provider objects). */
export const CODE_KIND = 'ProxylessCode';
/** What a code-only schema (kind {@link CODE_KIND}) holds. */
export type CodeValue = 'function' | 'buffer' | 'provider';

const CODE_CHECKS: Record<CodeValue, (value: unknown) => boolean> = {
  function: (v) => typeof v === 'function',
  buffer: (v) => v instanceof Uint8Array,
  // What a discovery provider is, as far as a schema can tell: an object with `watch` and `close`.
  provider: (v) =>
    typeof v === 'object' && v !== null && typeof (v as { watch?: unknown }).watch === 'function' && typeof (v as { close?: unknown }).close === 'function',
};
if (!TypeRegistry.Has(CODE_KIND)) {
  TypeRegistry.Set<{ code: CodeValue }>(CODE_KIND, (schema, value) => CODE_CHECKS[schema.code](value));
}

/** Whether `value` is the kind of code-only value `what` names (a function, a Buffer, a provider object). */
export function isCodeValue(what: CodeValue, value: unknown): boolean {
  return CODE_CHECKS[what](value);
}

/** A value only code can give, typed `T`: checked at runtime, left out of the published JSON Schema. */
export function code<T>(what: CodeValue, description: string): TUnsafe<T> {
  return Type.Unsafe<T>({ [Kind]: CODE_KIND, code: what, description });
}

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

/** One of the given strings, with its default when it has one. */
export function oneOf<const T extends readonly string[]>(description: string, values: T, fallback?: T[number]): TUnion<Literals<T>> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    described(description, fallback),
  ) as unknown as TUnion<Literals<T>>;
}

/**
 * How a default reads in a description and in TSDoc: numbers with thousands
 * separators (`10,000`), lists and blocks in TypeScript's literal syntax.
 * The TSDoc of each option quotes the same words (checked by
 * test/unit/config/schema-defaults.test.ts).
 */
export function defaultWording(value: unknown): string {
  if (typeof value === 'number') return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(defaultWording).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${k}: ${typeof v === 'number' ? String(v) : defaultWording(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return String(value);
}

/**
 * A description and, when there is one, the default: the schema's `default`
 * (the one place a default is written; resolvers fill in from it, see
 * util/schema-defaults.ts) and the words `Default <value>.` at the end of the
 * description, so the two cannot disagree.
 */
export function described(description: string, fallback: unknown): { description: string; default?: unknown } {
  if (fallback === undefined) return { description };
  return { description: `${description} Default ${defaultWording(fallback)}.`, default: fallback };
}

const bounds = (minimum?: number, maximum?: number) => ({ ...(minimum === undefined ? {} : { minimum }), ...(maximum === undefined ? {} : { maximum }) });

/** An optional property. */
export const opt = Type.Optional;
/** An integer, optionally bounded, with its default when it has one. */
export const int = (description: string, minimum?: number, maximum?: number, fallback?: number) =>
  Type.Integer({ ...described(description, fallback), ...bounds(minimum, maximum) });
/** A number, optionally bounded, with its default when it has one. */
export const num = (description: string, minimum?: number, maximum?: number, fallback?: number) =>
  Type.Number({ ...described(description, fallback), ...bounds(minimum, maximum) });
/** A number from 0 to 100. */
export const percent = (description: string, fallback?: number) => num(description, 0, 100, fallback);
/** A non-empty string. */
export const str = (description: string) => Type.String({ description, minLength: 1 });
/** true or false. */
export const bool = (description: string, fallback?: boolean) => Type.Boolean(described(description, fallback));
/** An object of string values by name. */
export const strings = (description: string) => Type.Record(Type.String(), Type.String(), { description });
/**
 * A block that can also be `false` (off). `on` says what an absent block
 * means: `true`, the block with its own defaults (`Default on.`, schema
 * default `{}`); `false`, off (`Default off.`); undefined, nothing is said.
 */
export const orFalse = <T extends TSchema>(schema: T, on?: boolean) =>
  Type.Union([schema, Type.Literal(false)], {
    description: on === undefined ? schema.description : `${schema.description} Default ${on ? 'on' : 'off'}.`,
    ...(on === undefined ? {} : { default: on ? {} : false }),
  });
