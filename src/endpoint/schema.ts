/**
 * An endpoint as written in configuration or pushed by discovery: its schema,
 * which src/config/schema.ts composes into the configuration's and the
 * discovery registry checks each pushed entry against.
 */
import { Type } from '@sinclair/typebox';
import { described, int, opt, str, strings } from '../util/schema-blocks.js';

/** An endpoint in configuration. */
export const ENDPOINT_INPUT_SCHEMA = Type.Union(
  [
    str('`http://host:port` or `https://host:port`.'),
    Type.Object(
      {
        /** `http://host:port` or `https://host:port`; a path, query or credentials are not allowed. */
        url: str('`http://host:port` or `https://host:port`.'),
        /** Relative share of traffic, a finite number > 0. Default 1. */
        weight: opt(Type.Number({ ...described('Relative share of traffic, > 0.', 1), exclusiveMinimum: 0 })),
        /** Locality zone, e.g. `eu-west-1a`. */
        zone: opt(str('Locality zone, e.g. `eu-west-1a`.')),
        /** Priority level, 0 the highest. Default 0. */
        priority: opt(int('Priority level, 0 the highest.', 0, undefined, 0)),
        /** Labels used by route subsets, e.g. `{ version: 'v2' }`. */
        labels: opt(strings('Labels used by route subsets.')),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'A URL, or an object with `url` and optional weight, zone, priority, labels.' },
);
