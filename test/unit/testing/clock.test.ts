import { afterEach, describe, expect, it, vi } from 'vitest';
import FakeTimers from '@sinonjs/fake-timers';
import { TestClock, createTestMesh } from '../../../src/testing/index.js';

describe('TestClock (manual)', () => {
  it('fires timers in due order at their own time, including timers set by timers, and stops at the target', async () => {
    const clock = new TestClock();
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      seen.push(`a@${clock.now()}`);
      clock.setTimeout(() => seen.push(`c@${clock.now()}`), 5);
    }, 10);
    clock.setTimeout(() => seen.push(`late@${clock.now()}`), 100);
    const cancelled = clock.setTimeout(() => seen.push('cancelled'), 15);
    clock.clearTimeout(cancelled);
    await clock.advance(50);
    expect(seen).toEqual(['a@10', 'c@15', 'b@20']);
    expect([clock.now(), clock.pendingTimers, clock.nextTimerAt]).toEqual([50, 1, 100]);
    expect(await clock.runAll()).toBe(1);
    expect(seen).toEqual(['a@10', 'c@15', 'b@20', 'late@100']);
  });

  it('timers due at the same time fire in creation order; wallNow follows now', async () => {
    const clock = new TestClock({ wallStartMs: 1_000_000 });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) clock.setTimeout(() => seen.push(i), 7);
    await clock.advance(7);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(clock.wallNow()).toBe(1_000_007);
  });

  it('lets promise work started by a timer finish before the next timer fires', async () => {
    const clock = new TestClock();
    const seen: string[] = [];
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => new Promise<void>((r) => process.nextTick(r)))
        .then(() => seen.push('work of t1 done'));
    }, 1);
    clock.setTimeout(() => seen.push('t2'), 2);
    await clock.advance(2);
    expect(seen).toEqual(['work of t1 done', 't2']);
  });

  it('rejects a negative advance and stops a timer that re-arms forever', async () => {
    const clock = new TestClock();
    await expect(clock.advance(-1)).rejects.toThrow(/>= 0/);
    const rearm = () => clock.setTimeout(rearm, 10);
    rearm();
    expect(await clock.runAll(25)).toBe(25);
    expect(clock.now()).toBe(250);
    const spin = new TestClock();
    const again = () => spin.setTimeout(again, 0);
    again();
    await expect(spin.advance(1)).rejects.toThrow('a timer keeps re-arming itself with no delay');
  });
});

describe('TestClock (globals): driven by vitest fake timers', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('scripted delays and mesh timers follow vi.advanceTimersByTimeAsync, without real waiting', async () => {
    vi.useFakeTimers();
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } }, { clock: 'globals' });
    t.endpoint('orders', 0).reply(200, 'slow', { delayMs: 5_000 });
    let done = false;
    const p = t.mesh.request('http://orders/x').then(async (r) => {
      done = true;
      return r.body.text();
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBe('slow');
    expect(t.clock.now()).toBe(5_000);
    await expect(t.clock.advance(1)).rejects.toThrow(/advanceTimersByTimeAsync/);
    await t.close();
  });
});

describe('TestClock (globals): driven by @sinonjs/fake-timers', () => {
  it('a scripted delay and the mesh follow clock.tickAsync', async () => {
    const fake = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } }, { clock: 'globals' });
      t.endpoint('orders', 0).reply(200, 'ok', { delayMs: 250 });
      const seen: string[] = [];
      const p = t.mesh.fetch('http://orders/').then(async (r) => seen.push(`${t.clock.now()} ${await r.text()}`));
      await fake.tickAsync(249);
      seen.push(`ticked ${t.clock.now()}`);
      await fake.tickAsync(1);
      await p;
      expect(seen).toEqual(['ticked 249', '250 ok']);
      await t.close();
    } finally {
      fake.uninstall();
    }
  });
});

describe('TestClock.run', () => {
  it('drives time to each timer until the work settles, and says so when it never would', async () => {
    const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } });
    t.endpoint('orders', 0).replyOnce(200, 'first', { delayMs: 250 }).reply(200, 'second', { delayMs: 100 });
    const text = async () => (await t.mesh.request('http://orders/')).body.text();
    expect(await t.clock.run(text())).toBe('first');
    expect(t.clock.now()).toBe(250);
    expect(await t.clock.run(text)).toBe('second');
    expect(t.clock.now()).toBe(350);
    t.endpoint('orders', 0).hang();
    await expect(t.clock.run(text())).rejects.toThrow('the work is still pending at 350 ms and no timer is left');
    t.endpoint('orders', 0).fail('reset', { delayMs: 10 });
    await expect(t.clock.run(text())).rejects.toMatchObject({ code: 'MESH_UPSTREAM_FAILURE' });
    t.endpoint('orders', 0).reply(200, 'late', { delayMs: 5_000 });
    await expect(t.clock.run(text(), 1_000)).rejects.toThrow('still pending after 1000 ms of test time');
    await t.close();
  });
});
