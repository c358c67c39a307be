/**
 * Routes (`routes`: matches, splits, per-route faults): their schema
 * fragment, which src/config/schema.ts composes into the configuration's.
 * The resolver is src/routing/resolve-routes.ts.
 */
import { Type } from '@sinclair/typebox';
import { FAULT_SPEC_SCHEMA } from '../faults/spec.js';
import { num, opt, orFalse, str, strings } from '../util/schema-blocks.js';

const FAULTS = orFalse(FAULT_SPEC_SCHEMA);

/** A header or query value match. */
export const STRING_MATCH_SCHEMA = Type.Union(
  [
    Type.String({ description: 'The value equals this.' }),
    Type.Object(
      {
        /** The value equals this. */
        exact: Type.String({ description: 'The value equals this.' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The whole value matches this regular expression. */
        regex: Type.String({ description: 'The whole value matches this regular expression.' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The value is present (true) or absent (false). */
        present: Type.Boolean({ description: 'The value is present (true) or absent (false).' }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'A value: a string (exact), `{ exact }`, `{ regex }` or `{ present }`.', expects: 'a string or exactly one of exact, regex, present' },
);

/** A path match. */
export const PATH_MATCH_SCHEMA = Type.Union(
  [
    Type.Object(
      {
        /** The path equals this. */
        exact: Type.String({ description: 'The path equals this.', pattern: '^/', expects: 'a path starting with "/"' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The path starts with this. */
        prefix: Type.String({ description: 'The path starts with this.', pattern: '^/', expects: 'a path starting with "/"' }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** The whole path matches this regular expression. */
        regex: Type.String({ description: 'The whole path matches this regular expression.' }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'The path, without the query string: `{ exact }`, `{ prefix }` or `{ regex }`.', expects: 'exactly one of exact, prefix, regex' },
);

/** `routes[].match`. */
export const ROUTE_MATCH_SCHEMA = Type.Object(
  {
    /** The path, without the query string. */
    path: opt(PATH_MATCH_SCHEMA),
    /** One method or a list (upper-case). */
    method: opt(Type.Union([str('A method.'), Type.Array(str('A method.'), { minItems: 1 })], { description: 'One method or a list.' })),
    /** Request headers by name (case-insensitive names). */
    headers: opt(Type.Record(Type.String(), STRING_MATCH_SCHEMA, { description: 'Request headers by name.' })),
    /** Query parameters by name (the first value when repeated). */
    query: opt(Type.Record(Type.String(), STRING_MATCH_SCHEMA, { description: 'Query parameters by name.' })),
  },
  { description: 'When the route applies; all given conditions must hold.', additionalProperties: false },
);

/** `routes[].split[]`. */
export const SPLIT_DESTINATION_SCHEMA = Type.Object(
  {
    /** Relative share, a finite number >= 0. The weights of a split must sum to more than 0. */
    weight: num('Relative share, >= 0; the weights of a split must sum to more than 0.', 0),
    /** Endpoints whose labels include all of these, e.g. `{ version: 'v2' }`. */
    subset: opt(strings('Endpoint labels to match.')),
    /** Another configured service, e.g. for a migration. */
    service: opt(str('Another configured service.')),
  },
  { description: 'One destination: a label subset, another service, or the whole service.', additionalProperties: false },
);

/** `routes[]`. */
export const ROUTE_SCHEMA = Type.Object(
  {
    /** A name for telemetry and the snapshot. Default `route-<index>`. */
    name: opt(str('A name for telemetry. Default `route-<index>`.')),
    /** When the route applies. Default: always. */
    match: opt(ROUTE_MATCH_SCHEMA),
    /** Where matching requests go, split by weight. */
    split: Type.Array(SPLIT_DESTINATION_SCHEMA, {
      description: 'Weighted destinations; weights must sum to more than 0.',
      minItems: 1,
      expects: 'a non-empty array of { weight, subset? | service? }',
    }),
    /** Fault injection for requests this route matches: replaces the service's `faults`; `false` turns them off here. */
    faults: opt(FAULTS),
  },
  { description: 'A routing rule: the first route whose match holds decides where a request goes.', additionalProperties: false },
);
