import { describe, expect, it } from 'vitest';
import { checkPeerIdentity, parseSpiffeId } from '../../../src/index.js';
import { uriSans } from '../../../src/security/spiffe.js';

describe('SPIFFE IDs', () => {
  it('parses valid IDs and explains invalid ones', () => {
    expect(parseSpiffeId('spiffe://example.org/ns/prod/sa/orders')).toEqual({
      id: 'spiffe://example.org/ns/prod/sa/orders',
      trustDomain: 'example.org',
      path: '/ns/prod/sa/orders',
    });
    expect(parseSpiffeId('spiffe://example.org')).toEqual({ id: 'spiffe://example.org', trustDomain: 'example.org', path: '' });
    const invalid = [
      'http://example.org/x',
      'spiffe://',
      'spiffe://Example.org/x',
      'spiffe://example.org:8443/x',
      'spiffe://user@example.org/x',
      'spiffe://example.org/x/',
      'spiffe://example.org//x',
      'spiffe://example.org/./x',
      'spiffe://example.org/../x',
      'spiffe://example.org/x%20y',
      'spiffe://example.org/x?y',
      'spiffe://example.org/x#y',
      `spiffe://example.org/${'a'.repeat(2048)}`,
    ];
    for (const id of invalid) expect([id, typeof parseSpiffeId(id)]).toEqual([id, 'string']);
  });

  it('reads URI SANs from Node\'s subjectaltname, including quoted values that hold a delimiter', () => {
    expect(uriSans('URI:spiffe://a/b, DNS:x, IP Address:127.0.0.1')).toEqual(['spiffe://a/b']);
    expect(uriSans('DNS:x, URI:"spiffe://a/b\\u002c URI:spiffe://a/c", URI:spiffe://a/d')).toEqual([
      'spiffe://a/b, URI:spiffe://a/c',
      'spiffe://a/d',
    ]);
    expect(uriSans(undefined)).toEqual([]);
  });

  it('checks a peer: exactly one URI SAN, a valid SPIFFE ID, in the trust domain, on the allow-list', () => {
    const policy = { trustDomain: 'example.org', allow: ['spiffe://example.org/orders'] };
    expect(checkPeerIdentity('URI:spiffe://example.org/orders, DNS:orders', policy)).toEqual({ ok: true, id: 'spiffe://example.org/orders' });
    const cases: [string | undefined, string][] = [
      [undefined, 'no URI SAN'],
      ['DNS:orders', 'no URI SAN'],
      ['URI:spiffe://example.org/orders, URI:spiffe://example.org/x', '2 URI SANs'],
      ['URI:https://example.org/orders', 'not a valid SPIFFE ID'],
      ['URI:spiffe://evil.org/orders', 'not in the trust domain'],
      ['URI:spiffe://example.org/billing', 'not an allowed identity'],
      // A quoted SAN with a comma does not pose as an allowed one.
      ['URI:"spiffe://example.org/orders\\u002c URI:x"', 'not a valid SPIFFE ID'],
    ];
    for (const [san, reason] of cases) {
      const verdict = checkPeerIdentity(san, policy);
      expect(verdict.ok).toBe(false);
      expect(verdict.ok ? '' : verdict.reason).toContain(reason);
    }
    expect(checkPeerIdentity('URI:spiffe://example.org/anything', { trustDomain: 'example.org' }).ok).toBe(true);
  });
});
