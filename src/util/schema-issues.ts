/**
 * Structural validation from a schema (the configuration's, src/config/schema.ts,
 * or a fragment of it): TypeBox's
 * compiled checker says whether a value fits; when it does not, its errors are
 * turned into {@link ConfigIssue}s that name the path (`services.orders.retry.attempts`),
 * what was expected and what was found. A union (`RetryOptions | false`, a
 * policy name or `{ policy }`) reports the errors of the branch the value was
 * evidently meant for, so a typo deep inside a block is reported where it is.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { describe } from './describe.js';
import { CODE_KIND, type CodeValue } from './schema-blocks.js';
import { unknownOptionMessage } from './suggest.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = TypeCompiler.Compile(schema)));
  return check;
}

/**
 * Every structural problem of `value` against `schema`, each once, with paths
 * under `base` (e.g. `services.orders.faults`); empty when it fits.
 */
export function schemaIssues(value: unknown, schema: TSchema, base = ''): ConfigIssue[] {
  const check = checker(schema);
  if (check.Check(value)) return [];
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const add = (path: string, expected: string, found: string, message?: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    issues.push({ path, message: message ?? `expected ${expected}, found ${found}`, expected, found });
  };
  const visit = (e: ValueError): void => {
    const keys = pointerKeys(e.path);
    const path = [base, ...keys].filter((k) => k !== '').join('.');
    const key = keys.at(-1);
    const parentPath = [base, ...keys.slice(0, -1)].filter((k) => k !== '').join('.');
    if (key !== undefined && !present(value, keys)) {
      // A required key that is absent: reported on the object that lacks it (a path that exists).
      const what = typeof (e.schema as { expects?: unknown }).expects === 'string' ? `: ${expected(e.schema)}` : '';
      add(parentPath, `option "${key}"`, `no "${key}"`, `missing required option "${key}"${what}`);
      return;
    }
    switch (e.type) {
      case ValueErrorType.ObjectAdditionalProperties: {
        const s = e.schema as { properties?: Record<string, unknown>; patternProperties?: Record<string, unknown>; keyExpects?: string };
        if (s.patternProperties && !s.properties) {
          const pattern = Object.keys(s.patternProperties)[0]!;
          const rule = s.keyExpects ?? `a name matching /${pattern}/`;
          add(path, rule, `"${key}"`, `${rule} (found "${key}")`);
          return;
        }
        const known = Object.keys(s.properties ?? {});
        if (known.length === 0) {
          add(path, 'no options', `"${key}"`, `unknown option "${key}" (this takes no options)`);
          return;
        }
        add(path, `one of: ${known.join(', ')}`, `"${key}"`, unknownOptionMessage(String(key), known));
        return;
      }
      case ValueErrorType.Union: {
        const branch = branchErrors(e);
        if (branch) {
          branch.forEach(visit);
          return;
        }
        add(path, expected(e.schema), found(e.value));
        return;
      }
      default:
        add(path, expected(e.schema), found(e.value));
    }
  };
  for (const e of check.Errors(value)) visit(e);
  return issues;
}

/** What was found, in words: `describe`, and the keys of an object (which say which shape it was meant to be). */
function found(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    const keys = Object.keys(value);
    return keys.length === 0 ? 'an empty object' : `an object with ${keys.join(', ')}`;
  }
  return describe(value);
}

/** The keys of a JSON pointer (`/services/orders` → `services`, `orders`). */
function pointerKeys(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Whether the value has something at `keys`. */
function present(root: unknown, keys: string[]): boolean {
  let at: unknown = root;
  for (const key of keys) {
    if (typeof at !== 'object' || at === null || !(key in at)) return false;
    at = (at as Record<string, unknown>)[key];
  }
  return at !== undefined;
}

type JsonType = 'object' | 'array' | 'string' | 'number' | 'boolean' | 'function' | 'null' | 'other';

function typeOfValue(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  if (t === 'bigint') return 'number';
  return t === 'object' || t === 'string' || t === 'number' || t === 'boolean' || t === 'function' ? t : 'other';
}

/** The JSON types a schema can accept. */
function typesOf(s: TSchema): Set<JsonType> {
  const x = s as { [Kind]?: string; type?: string; code?: CodeValue; anyOf?: TSchema[] };
  if (x[Kind] === CODE_KIND) return new Set([x.code === 'function' ? 'function' : 'object']);
  if (x.anyOf) return new Set(x.anyOf.flatMap((m) => [...typesOf(m)]));
  if (x.type === 'integer' || x.type === 'number') return new Set(['number']);
  if (x.type === 'object' || x.type === 'array' || x.type === 'string' || x.type === 'boolean') return new Set([x.type]);
  return new Set(['other']);
}

/**
 * For a union error: the errors of the one branch the value was meant for
 * (its type fits, and it has strictly fewer errors than the other fitting
 * branches), when they are about something inside the value; otherwise
 * undefined and the union is reported as a whole.
 */
function branchErrors(e: ValueError): ValueError[] | undefined {
  const members = (e.schema as { anyOf?: TSchema[] }).anyOf ?? [];
  const type = typeOfValue(e.value);
  let best: ValueError[] | undefined;
  let tie = false;
  members.forEach((member, i) => {
    if (!typesOf(member).has(type)) return;
    const errors = [...(e.errors[i] ?? [])];
    if (best === undefined || errors.length < best.length) {
      best = errors;
      tie = false;
    } else if (errors.length === best.length) tie = true;
  });
  if (best === undefined || tie) return undefined;
  // Only a problem of the union's own value (a scalar out of range, a wrong literal): say what the union takes.
  if (best.every((x) => x.path === e.path && x.type !== ValueErrorType.Union)) return undefined;
  return best;
}

/** What a schema takes, in words: `an integer >= 1 <= 10`, `one of "a", "b"`, `an object or false`. */
export function expected(s: TSchema): string {
  const x = s as unknown as { [Kind]?: string } & {
    type?: string;
    anyOf?: TSchema[];
    const?: unknown;
    minimum?: number;
    maximum?: number;
    exclusiveMinimum?: number;
    minLength?: number;
    minItems?: number;
    pattern?: string;
    required?: string[];
    code?: CodeValue;
  };
  if (typeof (x as { expects?: unknown }).expects === 'string') return (x as { expects: string }).expects;
  if (x[Kind] === CODE_KIND) {
    return x.code === 'function' ? 'a function' : x.code === 'buffer' ? 'a Buffer' : 'a discovery provider (an object with watch and close)';
  }
  if (x.const !== undefined) return JSON.stringify(x.const);
  if (x.anyOf) {
    const isLiteral = (m: TSchema) => typeof (m as { const?: unknown }).const === 'string';
    const literals = x.anyOf.filter(isLiteral).map((m) => JSON.stringify((m as unknown as { const: string }).const));
    const others = [...new Set(x.anyOf.filter((m) => !isLiteral(m)).map(expected))];
    if (others.length === 0) return `one of ${literals.join(', ')}`;
    return [...(literals.length > 0 ? [literals.join(', ')] : []), ...others].join(' or ');
  }
  const bounds = [
    x.minimum === undefined ? '' : ` >= ${x.minimum}`,
    x.exclusiveMinimum === undefined ? '' : ` > ${x.exclusiveMinimum}`,
    x.maximum === undefined ? '' : ` <= ${x.maximum}`,
  ].join('');
  switch (x.type) {
    case 'integer':
      return `an integer${bounds}`;
    case 'number':
      return `a finite number${bounds}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      if (x.pattern !== undefined) return `a string matching /${x.pattern}/`;
      return x.minLength ? 'a non-empty string' : 'a string';
    case 'array':
      return x.minItems ? `an array of at least ${x.minItems}` : 'an array';
    case 'object':
      return x.required?.length ? `an object with ${x.required.map((r) => `"${r}"`).join(', ')}` : 'an object';
    default:
      return 'a valid value';
  }
}
