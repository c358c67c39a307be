import { describe, expect, it } from 'vitest';
import { assignOver } from '../../../src/util/assign-over.js';

describe('assignOver (the request path\'s `{ ...source, ...fields }`)', () => {
  it('copies what a spread copies: own enumerable string and symbol keys, the fields winning', () => {
    const tag = Symbol('tag');
    const proto = { inherited: 1 };
    const source = Object.assign(Object.create(proto) as Record<string | symbol, unknown>, { method: 'GET', origin: 'http://a', [tag]: 't' });
    Object.defineProperty(source, 'hidden', { value: 1, enumerable: false });
    const fields = { origin: 'http://b', headers: ['host', 'svc'] };
    const copy = assignOver(source, fields);
    expect(copy).toEqual({ ...source, ...fields });
    expect(Reflect.ownKeys(copy).sort((a, b) => String(a).localeCompare(String(b)))).toEqual(
      Reflect.ownKeys({ ...source, ...fields }).sort((a, b) => String(a).localeCompare(String(b))),
    );
    expect(copy.origin).toBe('http://b');
    expect((copy as Record<symbol, unknown>)[tag]).toBe('t');
    expect('inherited' in copy).toBe(false);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it('leaves the source alone and takes undefined or null for an empty source', () => {
    const source = { method: 'GET' };
    const copy = assignOver(source, { body: null });
    expect(copy).not.toBe(source);
    expect(source).toEqual({ method: 'GET' });
    expect(assignOver(undefined, { dispatcher: 1 })).toEqual({ dispatcher: 1 });
    expect(assignOver(null, { dispatcher: 1 })).toEqual({ dispatcher: 1 });
  });
});
