import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../helpers/random.js';
import { countPicks, pickRequest, runtimeOf } from '../../helpers/runtime.js';

const N = 20_000;
const share = (counts: Map<string, number>, urls: string[]) =>
  (100 * urls.reduce((a, u) => a + (counts.get(u) ?? 0), 0)) / N;

describe('priority levels', () => {
  const endpoints = [
    { url: 'http://10.0.0.1:80', priority: 0 },
    { url: 'http://10.0.0.2:80', priority: 0 },
    { url: 'http://10.0.1.1:80', priority: 1 },
    { url: 'http://10.0.1.2:80', priority: 1 },
  ];
  const p0 = ['http://10.0.0.1', 'http://10.0.0.2'];
  const p1 = ['http://10.0.1.1', 'http://10.0.1.2'];

  it('keeps all traffic at the highest priority while it is healthy', () => {
    const { runtime } = runtimeOf({ services: { s: { endpoints } } }, 's', seededRandom(1));
    const counts = countPicks(runtime, N);
    expect(share(counts, p0)).toBe(100);
  });

  it('spills over with the overprovisioning factor (1 of 2 down: 70% stays, 30% spills)', () => {
    const { runtime, byUrl } = runtimeOf({ services: { s: { endpoints } } }, 's', seededRandom(2));
    runtime.setUsable([byUrl.get(p0[1]!)!, byUrl.get(p1[0]!)!, byUrl.get(p1[1]!)!]);
    const counts = countPicks(runtime, N);
    expect(counts.get(p0[0]!)).toBeUndefined();
    expect(Math.abs(share(counts, p0) - 70)).toBeLessThanOrEqual(1.5);
    expect(Math.abs(share(counts, p1) - 30)).toBeLessThanOrEqual(1.5);
  });

  it('with a custom factor of 1.0 a half-healthy level keeps half', () => {
    const { runtime, byUrl } = runtimeOf({ services: { s: { endpoints, overprovisioningFactor: 1 } } }, 's', seededRandom(3));
    runtime.setUsable([byUrl.get(p0[1]!)!, byUrl.get(p1[0]!)!, byUrl.get(p1[1]!)!]);
    expect(Math.abs(share(countPicks(runtime, N), p0) - 50)).toBeLessThanOrEqual(1.5);
  });
});

describe('locality', () => {
  const endpoints = [
    { url: 'http://10.0.0.1:80', zone: 'a' },
    { url: 'http://10.0.0.2:80', zone: 'a' },
    { url: 'http://10.0.0.3:80', zone: 'b' },
    { url: 'http://10.0.0.4:80', zone: 'b' },
  ];
  const zoneA = ['http://10.0.0.1', 'http://10.0.0.2'];

  it('keeps traffic in the local zone while it is healthy', () => {
    const { runtime } = runtimeOf({ localZone: 'a', services: { s: { endpoints } } }, 's', seededRandom(4));
    const counts = countPicks(runtime, N);
    expect(share(counts, zoneA)).toBe(100);
    expect(counts.get(zoneA[0]!)).toBe(N / 2);
  });

  it('spills to other zones as the local zone loses endpoints', () => {
    const { runtime, byUrl } = runtimeOf({ localZone: 'a', services: { s: { endpoints } } }, 's', seededRandom(5));
    runtime.setUsable([...byUrl.values()].filter((e) => e.url !== zoneA[0]));
    const counts = countPicks(runtime, N);
    expect(Math.abs(share(counts, [zoneA[1]!]) - 70)).toBeLessThanOrEqual(1.5);
  });

  it('a service can override the zone', () => {
    const { runtime } = runtimeOf({ localZone: 'a', services: { s: { endpoints, localZone: 'b' } } }, 's', seededRandom(6));
    expect(share(countPicks(runtime, 1000), zoneA)).toBe(0);
  });
});

describe('panic threshold', () => {
  const endpoints = ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80', 'http://10.0.0.4:80'];

  it('below 50% usable (after overprovisioning) uses every endpoint and says so', () => {
    const { runtime, byUrl, panics } = runtimeOf({ services: { s: { endpoints } } }, 's', seededRandom(8));
    const all = [...byUrl.values()];
    runtime.setUsable(all.slice(0, 2)); // 2 of 4: 1.4 x 50% = 70% >= 50%: no panic
    expect(new Set(countPicks(runtime, 100).keys()).size).toBe(2);
    runtime.setUsable(all.slice(0, 1)); // 1 of 4: 1.4 x 25% = 35% < 50%: panic
    expect(new Set(countPicks(runtime, 100).keys()).size).toBe(4);
    runtime.setUsable(all); // recovered
    expect(panics).toEqual(['enter s', 'leave s']);
  });

  it('with the threshold off, an empty usable set means no endpoint', () => {
    const { runtime } = runtimeOf({ services: { s: { endpoints, panicThreshold: 0 } } }, 's', seededRandom(9));
    runtime.setUsable([]);
    expect(countPicks(runtime, 10)).toEqual(new Map([['none', 10]]));
  });

  it('panics within a subset, never into another version', () => {
    const { runtime, byUrl } = runtimeOf(
      {
        services: {
          s: {
            endpoints: [
              { url: 'http://10.0.0.1:80', labels: { v: '1' } },
              { url: 'http://10.0.0.2:80', labels: { v: '2' } },
              { url: 'http://10.0.0.3:80', labels: { v: '2' } },
            ],
            routes: [{ split: [{ subset: { v: '2' }, weight: 1 }] }],
          },
        },
      },
      's',
      seededRandom(10),
    );
    runtime.setUsable([byUrl.get('http://10.0.0.1')!]); // every v2 endpoint is down
    const counts = countPicks(runtime, 200, pickRequest('/'));
    expect([...counts.keys()].sort()).toEqual(['http://10.0.0.2', 'http://10.0.0.3']);
  });
});
