/**
 * Routing option types: the static types of the schemas in
 * src/config/schema.ts (the one definition of the configuration). The two
 * small unions are written out for the API reference; a type test checks
 * that they equal the schema's.
 */
import type { Static } from '@sinclair/typebox';
import type * as S from '../config/schema.js';

/** How a string (a header or query value, a method) is matched. A bare string means `{ exact }`. */
export type StringMatch =
  | string
  | {
      /** The value equals this. */
      exact: string;
    }
  | {
      /** The whole value matches this regular expression. */
      regex: string;
    }
  | {
      /** The value is present (true) or absent (false). */
      present: boolean;
    };

/** How the request path (without the query string) is matched. */
export type PathMatch =
  | {
      /** The path equals this. */
      exact: string;
    }
  | {
      /** The path starts with this. */
      prefix: string;
    }
  | {
      /** The whole path matches this regular expression. */
      regex: string;
    };

/** The conditions of a route; all given conditions must hold. An empty match matches every request. */
export interface RouteMatch extends Static<typeof S.ROUTE_MATCH_SCHEMA> {}

/**
 * One weighted destination of a route: a subset of this service's endpoints
 * chosen by labels, another service, or (with neither) the whole service.
 */
export interface SplitDestination extends Static<typeof S.SPLIT_DESTINATION_SCHEMA> {}

/** A routing rule of a service: the first route whose `match` holds decides where a request goes. */
export interface Route extends Static<typeof S.ROUTE_SCHEMA> {}

/** Ramp-up of the weight of newly added endpoints, so a cold instance is not flooded. */
export interface SlowStartOptions extends Static<typeof S.SLOW_START_SCHEMA> {}
