import { describe, expect, it } from 'vitest';
import { checkFaults, createTestMesh, decideFault, seededRandom } from '../../../src/testing/index.js';

describe('fault injection', () => {
  it('validates like the mesh config will: every issue with its path', () => {
    expect(checkFaults({ delay: { percent: 120, ms: -1 }, abort: { percent: 5, status: 503, error: 'reset' }, chaos: true }, 'services.orders.faults')).toEqual([
      { path: 'services.orders.faults.chaos', message: 'unknown option "chaos" (expected one of: delay, abort)', expected: 'one of: delay, abort', found: '"chaos"' },
      { path: 'services.orders.faults.delay.percent', message: 'expected a finite number >= 0 <= 100, found 120', expected: 'a finite number >= 0 <= 100', found: '120' },
      { path: 'services.orders.faults.delay.ms', message: 'expected a finite number >= 0, found -1', expected: 'a finite number >= 0', found: '-1' },
      { path: 'services.orders.faults.abort', message: 'expected exactly one of status and error' },
    ]);
    expect(checkFaults({ abort: { percent: 1, error: 'boom' } })).toEqual([
      {
        path: 'faults.abort.error',
        message: 'expected one of "connect-refused", "connect-timeout", "reset", "timeout", found "boom"',
        expected: 'one of "connect-refused", "connect-timeout", "reset", "timeout"',
        found: '"boom"',
      },
    ]);
    expect(checkFaults({ delay: { percent: 50, ms: 100 }, abort: { percent: 10, status: 503 } })).toEqual([]);
  });

  it('draws delay and abort independently, at the asked percentages', () => {
    const random = seededRandom(3);
    let delayed = 0;
    let aborted = 0;
    let both = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const d = decideFault({ delay: { percent: 30, ms: 100 }, abort: { percent: 10, status: 503 } }, random);
      if (d.delayMs === 100) delayed++;
      if (d.abort) aborted++;
      if (d.delayMs && d.abort) both++;
    }
    expect(Math.abs((100 * delayed) / n - 30)).toBeLessThanOrEqual(1.5);
    expect(Math.abs((100 * aborted) / n - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs((100 * both) / n - 3)).toBeLessThanOrEqual(0.75);
    expect(decideFault(undefined, random)).toEqual({ delayMs: 0, abort: undefined });
  });

  it('service faults reach every endpoint of the service; an endpoint fault overrides; invalid specs throw with paths', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:80', 'http://10.0.0.2:80'], retry: false } } }, { seed: 5 });
    for (const e of t.endpoints('orders')) e.reply(200, 'ok');
    t.faults('orders', { abort: { percent: 100, status: 503 } });
    t.endpoint('orders', 1).faults({ abort: { percent: 100, error: 'reset' } });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(
        await t.mesh.request('http://orders/').then(
          (r) => String(r.statusCode),
          (e: { cause?: { code?: string } }) => String(e.cause?.code),
        ),
      );
    }
    expect(seen.sort()).toEqual(['503', '503', 'ECONNRESET', 'ECONNRESET']);
    expect(t.calls().map((c) => c.outcome).sort()).toEqual(['fault:503', 'fault:503', 'fault:reset', 'fault:reset']);
    expect(() => t.faults('orders', { delay: { percent: 10, ms: 'x' } } as never)).toThrow(/services\.orders\.faults\.delay\.ms/);
    t.faults('orders', undefined);
    t.endpoint('orders', 1).faults(undefined);
    const after = await Promise.all([t.mesh.request('http://orders/'), t.mesh.request('http://orders/')]);
    expect(after.map((r) => r.statusCode)).toEqual([200, 200]);
    await t.close();
  });

  it('a delay fault holds a share of calls on the test clock', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:80'], retry: false } } }, { seed: 9 });
    t.endpoint('orders', 0).reply(200);
    t.faults('orders', { delay: { percent: 50, ms: 1000 } });
    const done: number[] = [];
    const all = Array.from({ length: 200 }, (_, i) => t.mesh.request('http://orders/').then(() => done.push(i)));
    await t.clock.advance(999);
    const early = done.length;
    await t.clock.advance(1);
    await Promise.all(all);
    expect(Math.abs(early - 100)).toBeLessThanOrEqual(20);
    expect(done.length).toBe(200);
    await t.close();
  });
});
