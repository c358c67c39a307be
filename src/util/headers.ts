import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';

/** Header forms undici accepts in dispatch options. */
export type AnyHeaders = Dispatcher.DispatchOptions['headers'];

/**
 * Calls `fn(name, value)` for every request header in any of undici's forms:
 * a record, a flat `[name, value, ...]` array, an array of pairs, or an
 * iterable of pairs (Headers, Map). Names are passed as given.
 */
export function forEachHeader(headers: AnyHeaders, fn: (name: string, value: string | string[]) => void): void {
  if (headers == null) return;
  if (Array.isArray(headers)) {
    if (headers.length === 0) return;
    if (Array.isArray(headers[0])) {
      for (const pair of headers as unknown as [string, string | string[]][]) fn(String(pair[0]), pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) {
        fn(String(headers[i]), headers[i + 1] as string | string[]);
      }
    }
    return;
  }
  const iterable = headers as unknown as { [Symbol.iterator]?: () => Iterator<[string, string]> };
  if (typeof iterable[Symbol.iterator] === 'function') {
    for (const [name, value] of iterable as Iterable<[string, string]>) fn(name, value);
    return;
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (value !== undefined) fn(name, value);
  }
}

/**
 * A copy of `headers` as a flat `[name, value, ...]` string array (array
 * values become repeated names). A flat array of strings, the form the mesh
 * passes between its own layers, is copied without a callback per header.
 */
export function flatCopy(headers: AnyHeaders): string[] {
  if (Array.isArray(headers) && (headers.length === 0 || typeof headers[0] === 'string')) {
    let plain = true;
    for (let i = 1; i < headers.length; i += 2) {
      if (typeof headers[i] !== 'string') {
        plain = false;
        break;
      }
    }
    if (plain && headers.length % 2 === 0) return (headers as string[]).slice();
  }
  const out: string[] = [];
  forEachHeader(headers, (name, value) => {
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  });
  return out;
}

/** The first value of the header `lowerName` (which must be lower-case), or undefined. */
export function getHeader(headers: AnyHeaders, lowerName: string): string | undefined {
  let found: string | undefined;
  forEachHeader(headers, (name, value) => {
    if (found === undefined && name.length === lowerName.length && name.toLowerCase() === lowerName) {
      found = Array.isArray(value) ? value[0] : value;
    }
  });
  return found;
}

/**
 * The TLS server name undici derives from a request's `host` header when the
 * request names none (its `getServerName`): the host without its port or
 * IPv6 brackets, and none for an IP address (SNI cannot carry one).
 */
export function serverNameOf(authority: string): string | undefined {
  let host: string;
  if (authority.startsWith('[')) host = authority.slice(1, authority.indexOf(']'));
  else {
    const colon = authority.indexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
  }
  return host === '' || isIP(host) !== 0 ? undefined : host;
}
