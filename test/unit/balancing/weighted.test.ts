import { describe, expect, it } from 'vitest';
import { getLoadBalancer, listLoadBalancers, type LoadBalancer } from '../../../src/index.js';
import { context, countPicks, fakeEndpoints, pickRequest } from '../../helpers/balancers.js';
import { seededRandom } from '../../helpers/random.js';

function create(policy: string, options: Record<string, unknown> = {}, seed = 1): LoadBalancer {
  const definition = getLoadBalancer(policy);
  if (!definition) throw new Error(`no policy ${policy}`);
  expect(definition.validate?.(options) ?? []).toEqual([]);
  return definition.create(options, { service: 'svc', random: seededRandom(seed), now: () => 0 });
}

const WEIGHTS = [1, 2, 3, 4];
const PICKS = 20_000;

/** Observed share minus configured share, in percentage points, per endpoint. */
function shareErrors(counts: number[], weights: number[]): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  return counts.map((c, i) => Math.abs((100 * c) / PICKS - (100 * weights[i]!) / total));
}

describe('built-in policies', () => {
  it('are all registered through the public registry', () => {
    expect(listLoadBalancers()).toEqual(
      expect.arrayContaining([
        'round-robin',
        'weighted-round-robin',
        'random',
        'least-request',
        'peak-ewma',
        'ring-hash',
        'maglev',
      ]),
    );
  });
});

describe('weighted share over 20,000 picks (within ±1.5 percentage points)', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['round-robin', {}],
    ['weighted-round-robin', {}],
    ['random', {}],
    ['least-request', {}],
    ['least-request', { choiceCount: 3 }],
    ['peak-ewma', {}],
    // No hash key in the request: a random endpoint, by weight.
    ['maglev', { hashOn: { header: 'x-user' } }],
    ['ring-hash', { hashOn: { header: 'x-user' } }],
  ];
  for (const [policy, options] of cases) {
    for (const seed of [1, 2, 3]) {
      it(`${policy} ${JSON.stringify(options)} seed ${seed}`, () => {
        const endpoints = fakeEndpoints(WEIGHTS);
        const balancer = create(policy, options, seed);
        balancer.update(endpoints);
        const errors = shareErrors(countPicks(balancer, endpoints, PICKS), WEIGHTS);
        expect(Math.max(...errors)).toBeLessThanOrEqual(1.5);
      });
    }
  }

  it('maglev spreads distinct keys by weight too', () => {
    const endpoints = fakeEndpoints(WEIGHTS);
    const balancer = create('maglev', { hashOn: { header: 'x-user' } });
    balancer.update(endpoints);
    const counts = new Array<number>(WEIGHTS.length).fill(0);
    for (let k = 0; k < PICKS; k++) {
      const picked = balancer.pick(context(pickRequest('/', { 'x-user': `user-${k}` })))!;
      counts[endpoints.indexOf(picked as (typeof endpoints)[number])]!++;
    }
    expect(Math.max(...shareErrors(counts, WEIGHTS))).toBeLessThanOrEqual(1.5);
  });
});

describe('weighted round robin smoothness (weighted-round-robin, and round-robin when weights differ)', () => {
  const sets = [
    [1, 2, 3, 4],
    [5, 1, 1],
    [3, 1],
    [10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [2, 3, 5, 7, 11],
    [1, 1, 1, 1],
  ];
  for (const [policy, weights] of sets.flatMap((w) => [['weighted-round-robin', w] as const, ['round-robin', w] as const])) {
    it(`${policy}: no bursts for weights ${JSON.stringify(weights)}`, () => {
      const total = weights.reduce((a, b) => a + b, 0);
      const heaviest = Math.max(...weights);
      // The shortest possible longest run: the heaviest endpoint's picks split by everyone else's.
      const optimalRun = Math.ceil(heaviest / Math.max(1, total - heaviest));
      for (const seed of [1, 2, 3, 4, 5]) {
        const endpoints = fakeEndpoints(weights);
        const balancer = create(policy, {}, seed);
        balancer.update(endpoints);
        const counts = new Array<number>(weights.length).fill(0);
        let previous = -1;
        let run = 0;
        let longestRun = 0;
        let worstLag = 0;
        for (let t = 1; t <= 50 * total; t++) {
          const i = endpoints.indexOf(balancer.pick(context()) as (typeof endpoints)[number]);
          counts[i]!++;
          run = i === previous ? run + 1 : 1;
          previous = i;
          longestRun = Math.max(longestRun, run);
          // Lag: how far each endpoint's count is from its exact fair share so far.
          for (let j = 0; j < weights.length; j++) {
            worstLag = Math.max(worstLag, Math.abs(counts[j]! - (t * weights[j]!) / total));
          }
        }
        expect(longestRun).toBeLessThanOrEqual(optimalRun + 1);
        expect(worstLag).toBeLessThan(1.5);
        // Every full cycle gives each endpoint exactly its weight.
        expect(counts).toEqual(weights.map((w) => 50 * w));
      }
    });
  }

  it('is plain round robin with equal weights', () => {
    const endpoints = fakeEndpoints([1, 1, 1, 1, 1]);
    const balancer = create('weighted-round-robin', {}, 7);
    balancer.update(endpoints);
    const order = Array.from({ length: 15 }, () => endpoints.indexOf(balancer.pick(context()) as (typeof endpoints)[number]));
    const cycle = order.slice(0, 5);
    expect([...cycle].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([...cycle, ...cycle, ...cycle]);
  });
});

describe('tried endpoints', () => {
  const policies: [string, Record<string, unknown>][] = [
    ['round-robin', {}],
    ['weighted-round-robin', {}],
    ['random', {}],
    ['least-request', {}],
    ['least-request', { choiceCount: 10 }],
    ['peak-ewma', {}],
    ['ring-hash', { hashOn: { header: 'x-user' } }],
    ['maglev', { hashOn: { header: 'x-user' } }],
  ];
  for (const [policy, options] of policies) {
    it(`${policy} ${JSON.stringify(options)} skips them while it has another choice`, () => {
      const endpoints = fakeEndpoints([1, 2, 1, 3, 1]);
      const balancer = create(policy, options);
      balancer.update(endpoints);
      const request = pickRequest('/', { 'x-user': 'alice' });
      const tried = new Set<(typeof endpoints)[number]>();
      const order: number[] = [];
      for (let i = 0; i < endpoints.length; i++) {
        const picked = balancer.pick(context(request, tried)) as (typeof endpoints)[number] | undefined;
        expect(picked).toBeDefined();
        expect(tried.has(picked!)).toBe(false);
        tried.add(picked!);
        order.push(endpoints.indexOf(picked!));
      }
      expect([...order].sort()).toEqual([0, 1, 2, 3, 4]);
      // Everything tried: nothing left to pick (the mesh then retries without the set).
      expect(balancer.pick(context(request, tried))).toBeUndefined();
    });

    it(`${policy} ${JSON.stringify(options)} picks nothing from an empty set and the only one from one`, () => {
      const balancer = create(policy, options);
      balancer.update([]);
      expect(balancer.pick(context())).toBeUndefined();
      const [only] = fakeEndpoints([2]);
      balancer.update([only!]);
      expect(balancer.pick(context())).toBe(only);
      expect(balancer.pick(context(pickRequest(), new Set([only!])))).toBeUndefined();
    });
  }
});

describe('weighted-round-robin across updates', () => {
  it('keeps its schedule when updated with the same endpoints, and follows new weights', () => {
    const endpoints = fakeEndpoints([3, 1]);
    const balancer = create('weighted-round-robin', {}, 9);
    balancer.update(endpoints);
    const sequence = (n: number) =>
      Array.from({ length: n }, () => endpoints.indexOf(balancer.pick(context()) as (typeof endpoints)[number]));
    const reference = create('weighted-round-robin', {}, 9);
    reference.update(endpoints);
    const expected = Array.from({ length: 16 }, () =>
      endpoints.indexOf(reference.pick(context()) as (typeof endpoints)[number]),
    );
    const got = sequence(7);
    balancer.update([...endpoints]); // same endpoints, same weights
    got.push(...sequence(9));
    expect(got).toEqual(expected);
    // New weights: the next full cycle follows them.
    endpoints[1]!.weight = 3;
    balancer.update([...endpoints]);
    const counts = [0, 0];
    for (const i of sequence(60)) counts[i]!++;
    expect(counts).toEqual([30, 30]);
  });
});

describe('round-robin and weights', () => {
  it('rotates while weights are equal and follows weights when they differ (e.g. slow start)', () => {
    const endpoints = fakeEndpoints([1, 1, 1]);
    const balancer = create('round-robin', {}, 4);
    balancer.update(endpoints);
    const picks = (n: number) => {
      const counts = [0, 0, 0];
      for (let i = 0; i < n; i++) counts[endpoints.indexOf(balancer.pick(context()) as (typeof endpoints)[number])]!++;
      return counts;
    };
    expect(picks(30)).toEqual([10, 10, 10]);
    endpoints[2]!.weight = 0.5; // ramping up
    balancer.update([...endpoints]);
    expect(picks(50)).toEqual([20, 20, 10]);
    endpoints[2]!.weight = 1; // ramp done
    balancer.update([...endpoints]);
    expect(picks(30)).toEqual([10, 10, 10]);
  });
});
