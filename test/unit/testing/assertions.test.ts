import { describe, expect, it } from 'vitest';
import { KitAssertionError, compare, createTestMesh, diffValues, expectCalls, expectDecisions, formatValue } from '../../../src/testing/index.js';

describe('assertion helpers', () => {
  it('compare: objects name the fields that matter, arrays match item by item, RegExp matches strings', () => {
    const actual = [
      { method: 'GET', path: '/orders/42', headers: { host: 'orders', 'x-id': 'abc-123' } },
      { method: 'POST', path: '/orders', headers: { host: 'orders' } },
    ];
    expect(compare([{ path: '/orders/42', headers: { 'x-id': /^abc-\d+$/ } }, { method: 'POST' }], actual).pass).toBe(true);
    expect(compare([{ path: '/orders/42' }], actual)).toMatchObject({ pass: false, actual: [{ path: '/orders/42' }, { path: '/orders' }] });
    expect(compare({ a: undefined, b: 1 }, { b: 1 }).pass).toBe(true);
    expect(compare([NaN], [NaN]).pass).toBe(true);
  });

  it('formats values one field per line and diffs them line by line', () => {
    expect(formatValue({ a: [1, 'x'], 'b-c': {}, d: [], e: /re/ })).toBe('{\n  a: [\n    1,\n    "x",\n  ],\n  "b-c": {},\n  d: [],\n  e: /re/,\n}');
    expect(diffValues({ path: '/a', status: 200 }, { path: '/a', status: 503 })).toBe(
      ['- expected', '+ actual', '', '  {', '    path: "/a",', '-   status: 200,', '+   status: 503,', '  }'].join('\n'),
    );
  });

  it('expectCalls throws a KitAssertionError with the diff and the compared data; passes silently otherwise', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } });
    t.endpoint('orders', 0).reply(200);
    await (await t.mesh.request('http://orders/orders/42')).body.dump();
    await (await t.mesh.request('http://orders/orders/43', { method: 'DELETE' })).body.dump();
    expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }, { method: 'DELETE' }]);
    expectCalls(t, { method: 'delete' }).toHaveLength(1);
    expectCalls(t.calls(), { path: /^\/orders\/4\d$/ }).toHaveLength(2);
    let error: unknown;
    try {
      expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KitAssertionError);
    const e = error as KitAssertionError;
    expect(e.message).toBe(
      [
        'calls of orders do not match',
        '',
        '- expected',
        '+ actual',
        '',
        '  [',
        '    {',
        '      method: "GET",',
        '      path: "/orders/42",',
        '    },',
        '+   {',
        '+     method: "DELETE",',
        '+     path: "/orders/43",',
        '+   },',
        '  ]',
      ].join('\n'),
    );
    expect([e.expected, e.actual, e.code]).toEqual([
      [{ method: 'GET', path: '/orders/42' }],
      [
        { method: 'GET', path: '/orders/42' },
        { method: 'DELETE', path: '/orders/43' },
      ],
      'ERR_ASSERTION',
    ]);
    expect(() => expectCalls(t, 'payments').toHaveLength(1)).toThrow('expected 1 calls of payments, found 0');
    expect(() => expectDecisions(t, 'orders').toHaveTried([['http://10.0.0.9:8080'], []])).toThrow(/endpoints tried do not match[\s\S]*decision log:\n#1 GET orders \/orders\/42 -> 200/);
    expectDecisions(t, 'orders').toHaveTried([['http://10.0.0.1:8080'], ['http://10.0.0.1:8080']]);
    await t.close();
  });
});
