/**
 * The two small matching unions of the routing options, written out for the
 * API reference; a type test checks that they equal the schema's
 * (src/config/schema.ts). The other routing option types are the schema's
 * static types, in src/config/types.ts.
 */

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
