import { Type } from '@sinclair/typebox';
import { str } from '../util/schema-blocks.js';
import type { PickRequest } from './balancer.js';
import { hashString } from './hash.js';

/**
 * What a consistent-hash policy hashes to choose an endpoint: a request
 * header, a cookie, a query parameter (its raw, undecoded value) or the path
 * (without the query string). A request without the key (or with an empty
 * value) gets a random endpoint, weighted.
 */
export type HashOn =
  | {
      /** A request header's name (case-insensitive); its first value is the key. */
      header: string;
    }
  | {
      /** A cookie's name (in the `cookie` header); its value is the key. */
      cookie: string;
    }
  | {
      /** A query parameter's name; its raw value (first occurrence) is the key. */
      query: string;
    }
  | 'path';

/** HTTP token characters (RFC 9110), for header and cookie names. */
const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

const tokenName = (what: string) =>
  Type.String({ description: `A ${what} name.`, pattern: TOKEN, expects: `a ${what} name (HTTP token characters: letters, digits, !#$%&'*+.^_\`|~-)` });

/** The schema of {@link HashOn}. */
export const HASH_ON_SCHEMA = Type.Union(
  [
    Type.Literal('path', { description: 'The path, without the query string.' }),
    Type.Object(
      {
        /** A request header's name (case-insensitive); its first value is the key. */
        header: tokenName('header'),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** A cookie's name (in the `cookie` header); its value is the key. */
        cookie: tokenName('cookie'),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        /** A query parameter's name; its raw value (first occurrence) is the key. */
        query: str('A query parameter name.'),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description: "What to hash: 'path', `{ header }`, `{ cookie }` or `{ query }`.",
    expects: "'path', { header: name }, { cookie: name } or { query: name }",
  },
);

const KIND_PATH = 0;
const KIND_HEADER = 1;
const KIND_COOKIE = 2;
const KIND_QUERY = 3;

/** Seed of key hashes (any constant; fixed so every client hashes alike). */
const KEY_SEED = 0x6d657368; // "mesh"

/**
 * Extracts and hashes the request key named by a {@link HashOn}, in place
 * (no substring is allocated). {@link RequestHasher.hash} returns a uint32,
 * or -1 when the request has no key.
 */
export class RequestHasher {
  readonly #kind: number;
  readonly #name: string;

  constructor(hashOn: HashOn) {
    if (hashOn === 'path') {
      this.#kind = KIND_PATH;
      this.#name = '';
    } else if ('header' in hashOn) {
      this.#kind = KIND_HEADER;
      this.#name = hashOn.header.toLowerCase();
    } else if ('cookie' in hashOn) {
      this.#kind = KIND_COOKIE;
      this.#name = hashOn.cookie;
    } else {
      this.#kind = KIND_QUERY;
      this.#name = hashOn.query;
    }
  }

  /** The key's hash (uint32), or -1 when the request has none. */
  hash(request: PickRequest): number {
    switch (this.#kind) {
      case KIND_HEADER: {
        const value = request.header(this.#name);
        return value === undefined || value === '' ? -1 : hashString(value, KEY_SEED);
      }
      case KIND_COOKIE: {
        const cookie = request.header('cookie');
        return cookie === undefined ? -1 : hashParam(cookie, this.#name, 0, 59 /* ; */, true);
      }
      case KIND_QUERY: {
        const path = request.path;
        const q = path.indexOf('?');
        return q < 0 ? -1 : hashParam(path, this.#name, q + 1, 38 /* & */, false);
      }
      default: {
        const path = request.path;
        const q = path.indexOf('?');
        return hashString(path, KEY_SEED, 0, q < 0 ? path.length : q);
      }
    }
  }
}

/**
 * Finds `name=value` in `s` from `from`, pairs separated by `sep` (optional
 * spaces after it when `trim`), and hashes the value; -1 when absent or
 * empty. In a query (`trim` false) a `#` ends the search too.
 */
function hashParam(s: string, name: string, from: number, sep: number, trim: boolean): number {
  const n = s.length;
  const len = name.length;
  let i = from;
  while (i < n) {
    if (trim) while (i < n && s.charCodeAt(i) === 32) i++;
    let end = i;
    while (end < n && s.charCodeAt(end) !== sep && (trim || s.charCodeAt(end) !== 35) /* # ends a query */) end++;
    if (end - i > len && s.charCodeAt(i + len) === 61 /* = */ && s.startsWith(name, i)) {
      let valueEnd = end;
      if (trim) while (valueEnd > i + len + 1 && s.charCodeAt(valueEnd - 1) === 32) valueEnd--;
      return valueEnd === i + len + 1 ? -1 : hashString(s, KEY_SEED, i + len + 1, valueEnd);
    }
    if (end < n && s.charCodeAt(end) === 35 && !trim) return -1;
    i = end + 1;
  }
  return -1;
}
