import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { flatCopy, getHeader, serverNameOf, type AnyHeaders } from '../../../src/util/headers.js';

// undici's own derivation of a request's TLS server name from its Host header (not exported by its index).
const { getServerName } = createRequire(import.meta.url)('undici/lib/core/util.js') as { getServerName(host: string): string | null };

// Every header form undici accepts, holding the same three fields (one repeated).
const FORMS: [string, AnyHeaders][] = [
  ['a record', { accept: 'text/plain', 'x-tag': ['a', 'b'] }],
  ['a flat array', ['accept', 'text/plain', 'x-tag', 'a', 'x-tag', 'b']],
  ['a flat array with an array value', ['accept', 'text/plain', 'x-tag', ['a', 'b']] as unknown as AnyHeaders],
  ['pairs', [['accept', 'text/plain'], ['x-tag', ['a', 'b']]] as unknown as AnyHeaders],
  ['a Map', new Map([['accept', 'text/plain'], ['x-tag', 'a'], ['X-Tag', 'b']]) as unknown as AnyHeaders],
];

describe('header forms', () => {
  it.each(FORMS)('flatCopy copies %s into a flat string array', (_name, headers) => {
    const out = flatCopy(headers);
    expect(out.map((v, i) => (i % 2 === 0 ? v.toLowerCase() : v))).toEqual(['accept', 'text/plain', 'x-tag', 'a', 'x-tag', 'b']);
    // A copy: adding to it (as trace context injection does) leaves the caller's headers alone.
    out.push('traceparent', '00-x');
    expect(getHeader(headers, 'traceparent')).toBeUndefined();
  });

  it('flatCopy of nothing is empty, and a flat array is copied, not shared', () => {
    expect(flatCopy(undefined)).toEqual([]);
    expect(flatCopy(null)).toEqual([]);
    const flat = ['a', '1'];
    const copy = flatCopy(flat);
    expect(copy).toEqual(flat);
    expect(copy).not.toBe(flat);
  });

  it.each(['orders', 'orders:8080', 'a.b.example:443', '127.0.0.1', '127.0.0.1:8080', '[::1]', '[::1]:8443', '[fe80::1%25eth0]:80'])(
    'serverNameOf(%s) is the server name undici derives from that Host header',
    (authority) => {
      expect(serverNameOf(authority) ?? null).toBe(getServerName(authority) || null);
    },
  );
});
