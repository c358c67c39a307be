/**
 * The building blocks the configuration schema is written with (TypeBox),
 * shared by every schema fragment: a description on every value, bounds as
 * JSON Schema keywords, `false` for a block that is off.
 */
import { Type, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';

/** The kind of the schemas of values that only code can give (functions, Buffers, provider objects). */
export const CODE_KIND = 'ProxylessCode';
/** What a code-only schema (kind {@link CODE_KIND}) holds. */
export type CodeValue = 'function' | 'buffer' | 'provider';

type Literals<T extends readonly string[]> = { -readonly [K in keyof T]: TLiteral<T[K]> };

/** One of the given strings. */
export function oneOf<const T extends readonly string[]>(description: string, values: T): TUnion<Literals<T>> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  ) as unknown as TUnion<Literals<T>>;
}

/** An optional property. */
export const opt = Type.Optional;
/** An integer, optionally bounded. */
export const int = (description: string, minimum?: number, maximum?: number) =>
  Type.Integer({ description, ...(minimum === undefined ? {} : { minimum }), ...(maximum === undefined ? {} : { maximum }) });
/** A number, optionally bounded. */
export const num = (description: string, minimum?: number, maximum?: number) =>
  Type.Number({ description, ...(minimum === undefined ? {} : { minimum }), ...(maximum === undefined ? {} : { maximum }) });
/** A number from 0 to 100. */
export const percent = (description: string) => num(description, 0, 100);
/** A non-empty string. */
export const str = (description: string) => Type.String({ description, minLength: 1 });
/** true or false. */
export const bool = (description: string) => Type.Boolean({ description });
/** An object of string values by name. */
export const strings = (description: string) => Type.Record(Type.String(), Type.String(), { description });
/** A block that can also be `false` (off). */
export const orFalse = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Literal(false)], { description: schema.description });
