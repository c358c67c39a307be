import { describe, expect, it } from 'vitest';
import type { MeshConfigError} from '../../../src/index.js';
import { MeshClient, type Clock, type HealthEvent } from '../../../src/index.js';
import { seededRandom } from '../../helpers/random.js';
import { countPicks, runtimeOf } from '../../helpers/runtime.js';

/** A hand-driven clock: time moves only when the test says so. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    wallNow: () => 1_700_000_000_000 + now,
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimeout(handle) {
      const i = timers.indexOf(handle as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > until) break;
        timers.shift();
        now = next.at;
        next.fn();
      }
      now = until;
    },
  };
}

describe('slow start', () => {
  it('ramps a new endpoint from 10% of its weight to all of it over the window (no ramp for the initial set)', async () => {
    const clock = manualClock();
    const config = (urls: string[]) => ({
      services: { s: { endpoints: urls.map((url) => ({ url, weight: 2 })), loadBalancer: 'random', slowStart: { windowMs: 1000 } } },
    });
    const mesh = new MeshClient({ clock, random: seededRandom(11), ...config(['http://127.0.0.1:1']) });
    const effective = () => mesh.snapshot().services.s!.endpoints.map((e) => Number((e.effectiveWeight as number).toFixed(3)));
    expect(effective()).toEqual([2]);
    await mesh.updateConfig(config(['http://127.0.0.1:1', 'http://127.0.0.1:2']));
    const seen: number[][] = [effective()];
    for (let i = 0; i < 4; i++) {
      clock.advance(250);
      seen.push(effective());
    }
    expect(seen).toEqual([
      [2, 0.2],
      [2, 0.65],
      [2, 1.1],
      [2, 1.55],
      [2, 2],
    ]);
    await mesh.close();
  });

  it('balancers that cache weights see the ramp', () => {
    let now = 0;
    const { runtime, byUrl } = runtimeOf(
      { services: { s: { endpoints: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], loadBalancer: 'random' } } },
      's',
      seededRandom(12),
    );
    byUrl.get('http://127.0.0.1:2')!.startSlowStart(() => now, 1000, 0.1);
    runtime.refreshWeights();
    const shareOfNew = () => (100 * (countPicks(runtime, 20_000).get('http://127.0.0.1:2') ?? 0)) / 20_000;
    expect(Math.abs(shareOfNew() - (100 * 0.1) / 1.1)).toBeLessThanOrEqual(1.5);
    now = 500;
    runtime.refreshWeights();
    expect(Math.abs(shareOfNew() - (100 * 0.55) / 1.55)).toBeLessThanOrEqual(1.5);
    now = 1000;
    runtime.refreshWeights();
    expect(Math.abs(shareOfNew() - 50)).toBeLessThanOrEqual(1.5);
  });
});

describe('routing configuration errors name the path', () => {
  const issues = (config: unknown) => {
    try {
      new MeshClient(config as never);
    } catch (e) {
      return (e as MeshConfigError).issues.map((i) => `${i.path}: ${i.message}`);
    }
    return [];
  };

  it('rejects bad splits, regexes, subsets and unknown services', () => {
    const found = issues({
      services: {
        orders: {
          endpoints: [{ url: 'http://10.0.0.1:80', labels: { version: 'v1' } }],
          routes: [
            { split: [{ subset: { version: 'v1' }, weight: 0 }] },
            { split: [{ subset: { version: 'v1' }, weight: -1 }] },
            { match: { path: { regex: '(' } }, split: [{ weight: 1 }] },
            { match: { headers: { 'x-a': { regex: '[' } } }, split: [{ weight: 1 }] },
            { split: [{ subset: { version: 'v9' }, weight: 1 }] },
            { split: [{ service: 'nowhere', weight: 1 }] },
            { match: { path: { prefix: 'no-slash' } }, split: [{ weight: 1 }] },
            { match: { path: { exact: '/a', prefix: '/b' } }, split: [{ weight: 1 }] },
            { split: [] },
            { split: [{ subset: { version: 'v1' }, service: 'orders', weight: 1 }] },
          ],
          panicThreshold: 120,
          slowStart: { minWeightPercent: 5 },
        },
      },
    });
    // Every problem once, in any order (the schema's issues come first, then the rules a schema cannot say).
    const expected = [
      'services.orders.routes.0.split: the split weights sum to 0: no destination could ever be chosen',
      'services.orders.routes.1.split.0.weight: expected a finite number >= 0, found -1',
      expect.stringMatching(/^services\.orders\.routes\.2\.match\.path\.regex: invalid regular expression/),
      expect.stringMatching(/^services\.orders\.routes\.3\.match\.headers\.x-a\.regex: invalid regular expression/),
      'services.orders.routes.6.match.path.prefix: expected a path starting with "/", found "no-slash"',
      'services.orders.routes.7.match.path: expected exactly one of exact, prefix, regex, found an object with exact, prefix',
      'services.orders.routes.8.split: expected a non-empty array of { weight, subset? | service? }, found an array',
      'services.orders.routes.9.split.0: a destination is either a subset of this service or another service, not both',
      'services.orders.panicThreshold: expected a finite number >= 0 <= 100, found 120',
      'services.orders.slowStart: missing required option "windowMs"',
      'services.orders.routes.4.split.0.subset: no endpoint has the labels {"version":"v9"}',
      'services.orders.routes.5.split.0.service: unknown service "nowhere"',
    ];
    expect(found).toHaveLength(expected.length);
    expect(found).toEqual(expect.arrayContaining(expected));
  });

  it('applies the same rules on update, and keeps the old config', async () => {
    const events: HealthEvent[] = [];
    const mesh = new MeshClient({
      services: { s: { endpoints: [{ url: 'http://10.0.0.1:80', labels: { v: '1' } }] } },
      observers: [{ onHealth: (e) => events.push(e) }],
    });
    await expect(
      mesh.updateConfig({ services: { s: { endpoints: [{ url: 'http://10.0.0.1:80', labels: { v: '1' } }], routes: [{ split: [{ subset: { v: '2' }, weight: 1 }] }] } } }),
    ).rejects.toMatchObject({ issues: [{ path: 'services.s.routes.0.split.0.subset' }] });
    expect(mesh.snapshot().version).toBe(1);
    await mesh.close();
  });
});
