/**
 * The published JSON Schema (`proxyless/schema.json`) from a TypeBox schema:
 * the same schema without what only code can give (kind {@link CODE_KIND}),
 * unions of string literals written as `enum` (what editors complete best),
 * records as `additionalProperties` maps, and a schema carrying
 * {@link PUBLISHED_AS} written as what that gives.
 */
import { Kind, Type, type TSchema } from '@sinclair/typebox';
import { CODE_KIND } from './schema-blocks.js';

/** The subset of JSON Schema (draft 2020-12) the published schema uses. */
export interface JsonSchema {
  /** JSON Schema keyword. */
  $schema?: string;
  /** JSON Schema keyword. */
  $id?: string;
  /** JSON Schema keyword. */
  title?: string;
  /** JSON Schema keyword: what the value means, with its default. */
  description?: string;
  /** JSON Schema keyword. */
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean';
  /** JSON Schema keyword. */
  properties?: Record<string, JsonSchema>;
  /** JSON Schema keyword. */
  required?: string[];
  /** JSON Schema keyword. */
  additionalProperties?: boolean | JsonSchema;
  /** JSON Schema keyword. */
  propertyNames?: JsonSchema;
  /** JSON Schema keyword. */
  items?: JsonSchema;
  /** JSON Schema keyword. */
  minItems?: number;
  /** JSON Schema keyword. */
  enum?: (string | number | boolean)[];
  /** JSON Schema keyword. */
  const?: string | number | boolean;
  /** JSON Schema keyword. */
  anyOf?: JsonSchema[];
  /** JSON Schema keyword. */
  not?: JsonSchema;
  /** JSON Schema keyword. */
  minimum?: number;
  /** JSON Schema keyword. */
  maximum?: number;
  /** JSON Schema keyword. */
  exclusiveMinimum?: number;
  /** JSON Schema keyword. */
  minLength?: number;
  /** JSON Schema keyword. */
  pattern?: string;
  /** JSON Schema keyword. */
  examples?: unknown[];
}

/**
 * A schema published as something else: the value is a function giving the
 * schema to write in its place (the built-ins' option blocks instead of an
 * open `{ policy, ... }`). A symbol, so it survives TypeBox's clones and
 * stays out of the output.
 */
export const PUBLISHED_AS = Symbol('published as');

/**
 * The published form of a named block: one object per built-in, its `key`
 * (`policy`, `type`) the built-in's name and its properties the built-in's
 * options schema; then an object for any other name (one registered in
 * code), whose options the schema cannot know. With `byName`, the bare name
 * too: the built-ins that need no option, or any other name.
 */
export function namedChoices(key: string, builtins: Readonly<Record<string, { readonly options?: TSchema }>>, what: string, byName: boolean): TSchema {
  const names = Object.keys(builtins);
  const others = { minLength: 1, not: { enum: names } };
  const branches = names.map((name) => {
    const options = builtins[name]!.options as { properties?: Record<string, TSchema>; additionalProperties?: unknown } | undefined;
    return Type.Object(
      { [key]: Type.Literal(name, { description: `The built-in ${what} \`${name}\`.` }), ...(options?.properties ?? {}) },
      { description: `\`${name}\` and its options.`, additionalProperties: options === undefined ? true : ((options.additionalProperties ?? true) as boolean) },
    );
  });
  const other = Type.Object(
    { [key]: Type.String({ ...others, description: `A ${what} registered in code.` }) },
    { description: `A ${what} registered in code, with its own options.`, additionalProperties: true },
  );
  const bare = names.filter((name) => ((builtins[name]!.options as { required?: string[] } | undefined)?.required ?? []).length === 0);
  const byNames = byName ? [Type.Union(bare.map((n) => Type.Literal(n))), Type.String({ ...others, description: `A ${what} registered in code.` })] : [];
  return Type.Union([...byNames, ...branches, other]);
}

/** The key pattern of `Type.Record(Type.String(), ...)`. */
const ANY_KEY = '^(.*)$';
/** A code-only schema (kind {@link CODE_KIND}), or an array of them (`connection.interceptors`): left out of the published schema. */
const isCode = (s: TSchema): boolean =>
  (s as { [Kind]?: string })[Kind] === CODE_KIND || (s.type === 'array' && isCode((s as unknown as { items: TSchema }).items));

/** `root` as JSON Schema, without `$schema` (see the top of this file). */
export function toJsonSchema(root: TSchema): JsonSchema {
  // One converted object per schema object: a block shared by services and defaults stays one object.
  const done = new Map<TSchema, JsonSchema>();
  const convert = (s: TSchema): JsonSchema | undefined => {
    if (isCode(s)) return undefined;
    const known = done.get(s);
    if (known) return known;
    const publishedAs = (s as { [PUBLISHED_AS]?: () => TSchema })[PUBLISHED_AS];
    if (publishedAs) {
      const description = s.description === undefined ? {} : { description: s.description as string };
      const examples = s.examples === undefined ? {} : { examples: s.examples as unknown[] };
      const out = { ...convert(publishedAs())!, ...description, ...examples };
      done.set(s, out);
      return out;
    }
    const out: Record<string, unknown> = {};
    done.set(s, out as JsonSchema);
    for (const [key, value] of Object.entries(s)) {
      if (key === 'properties') {
        const props: Record<string, JsonSchema> = {};
        for (const [name, p] of Object.entries(value as Record<string, TSchema>)) {
          const converted = convert(p);
          if (converted) props[name] = converted;
        }
        out.properties = props;
        if (Array.isArray(s.required)) out.required = (s.required as string[]).filter((r) => r in props);
      } else if (key === 'required' || key === 'expects' || key === 'keyExpects') {
        // `required` is written with `properties`; `expects` and `keyExpects` (a record's keys) are proxyless's own wording for error messages.
      } else if (key === 'anyOf') {
        const members = (value as TSchema[]).map(convert).filter((m): m is JsonSchema => m !== undefined);
        if (members.length > 0 && members.every((m) => typeof m.const === 'string')) {
          out.type = 'string';
          out.enum = members.map((m) => m.const as string);
        } else if (members.length === 1) Object.assign(out, members[0], s.description === undefined ? {} : { description: s.description });
        else out.anyOf = members;
      } else if (key === 'additionalProperties' && s.patternProperties !== undefined) {
        // A record: written below as additionalProperties (and propertyNames).
      } else if (key === 'items' || key === 'additionalProperties') {
        out[key] = typeof value === 'object' ? convert(value as TSchema) : value;
      } else if (key === 'patternProperties') {
        // TypeBox writes a record as one pattern; editors complete `additionalProperties` maps best.
        const [pattern, values] = Object.entries(value as Record<string, TSchema>)[0]!;
        if (pattern !== ANY_KEY) out.propertyNames = { pattern };
        out.additionalProperties = convert(values);
      } else out[key] = value;
    }
    return out as JsonSchema;
  };
  return convert(root)!;
}
