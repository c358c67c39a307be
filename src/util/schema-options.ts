import { Kind, type TSchema } from '@sinclair/typebox';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { defaultsOf } from './schema-defaults.js';
import { schemaIssues } from './schema-issues.js';

/**
 * What a registered extension (a load-balancing policy, a discovery provider
 * type) says about the options beside its name: a schema, and rules the
 * schema cannot say.
 */
export interface OptionsDefinition {
  /** A TypeBox object schema of the options. */
  readonly options?: TSchema;
  /** Rules across options; paths relative to the options object. */
  validate?(options: Record<string, unknown>): ConfigIssue[];
}

/** True when `schema` is a TypeBox object schema (`Type.Object`). */
export function isObjectSchema(schema: unknown): schema is TSchema {
  return typeof schema === 'object' && schema !== null && (schema as { [Kind]?: string })[Kind] === 'Object';
}

/**
 * Checks `options` against a definition and fills in its defaults: the
 * schema's structural issues (paths under `base`, e.g.
 * `services.orders.loadBalancer.tableSize`), then the definition's own
 * `validate`, which sees the options with defaults filled in and whose
 * issues about a path the schema already reported are dropped. Issues are
 * pushed to `issues`; the filled options are returned either way.
 */
export function checkedOptions(
  definition: OptionsDefinition,
  options: Record<string, unknown>,
  base: string,
  issues: ConfigIssue[],
): Record<string, unknown> {
  const schema = definition.options;
  const structural = schema === undefined ? [] : schemaIssues(options, schema, base);
  const filled = schema === undefined ? { ...options } : { ...defaultsOf(schema), ...options };
  const at = (path: string) => [base, path].filter((p) => p !== '').join('.');
  const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  issues.push(...structural);
  for (const issue of definition.validate?.(filled) ?? []) {
    const path = at(issue.path);
    // A missing required option is reported on the options object itself: it does not hide the rest.
    if (structural.some((s) => s.path !== base && overlaps(s.path, path))) continue;
    issues.push({ path, message: issue.message });
  }
  return filled;
}
