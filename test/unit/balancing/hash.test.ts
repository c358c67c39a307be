import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestHasher } from '../../../src/balancing/hash-key.js';
import { hashString } from '../../../src/balancing/hash.js';
import {
  MaglevBalancer,
  MeshClient,
  RingHashBalancer,
  type BalancerEndpoint,
  type LoadBalancer,
} from '../../../src/index.js';
import { context, fakeEndpoints, fleet, pickRequest } from '../../helpers/balancers.js';
import { seededRandom } from '../../helpers/random.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

const KEYS = 100_000;
const N = 100;
const hashOn = { header: 'x-user' };
const requests = Array.from({ length: KEYS }, (_, k) => context(pickRequest('/', { 'x-user': `user-${k}` })));

function assign(balancer: LoadBalancer): BalancerEndpoint[] {
  return requests.map((ctx) => balancer.pick(ctx)!);
}

function maxOverMean(assignment: BalancerEndpoint[], n: number): number {
  const counts = new Map<BalancerEndpoint, number>();
  for (const e of assignment) counts.set(e, (counts.get(e) ?? 0) + 1);
  return Math.max(...counts.values()) / (assignment.length / n);
}

/** Average share of keys that move when one endpoint is removed, over several removals. */
function remapped(make: () => LoadBalancer, endpoints: BalancerEndpoint[], removals: number[]) {
  let moved = 0;
  let movedOffRemoved = 0;
  for (const r of removals) {
    const balancer = make();
    balancer.update(endpoints);
    const before = assign(balancer);
    balancer.update(endpoints.filter((_, i) => i !== r));
    const after = assign(balancer);
    for (let k = 0; k < KEYS; k++) {
      if (after[k] !== before[k]) {
        moved++;
        if (before[k] === endpoints[r]) movedOffRemoved++;
      }
    }
  }
  return { fraction: moved / KEYS / removals.length, onlyFromRemoved: moved === movedOffRemoved };
}

const policies = [
  { name: 'maglev', make: () => new MaglevBalancer({ hashOn }, seededRandom(1)), maxLoad: 1.15, remap: 2.2 },
  { name: 'ring-hash', make: () => new RingHashBalancer({ hashOn }, seededRandom(1)), maxLoad: 1.3, remap: 1.1 },
];

describe.each(policies)('$name quality at 100 endpoints, 100,000 keys', ({ make, maxLoad, remap }) => {
  it(`max/mean load <= ${maxLoad}`, () => {
    for (const endpoints of [fleet(N), fakeEndpoints(new Array<number>(N).fill(1), 'http://backend-')]) {
      const balancer = make();
      balancer.update(endpoints);
      expect(maxOverMean(assign(balancer), N)).toBeLessThanOrEqual(maxLoad);
    }
  });

  it(`removing 1 of N endpoints remaps <= ${remap}/N of keys`, () => {
    const { fraction } = remapped(make, fleet(N), [0, 13, 37, 50, 99]);
    expect(fraction * N).toBeLessThanOrEqual(remap);
  });

  it('sends the same key to the same endpoint, across instances, orders and updates', () => {
    const endpoints = fleet(N);
    const a = make();
    const b = make();
    a.update(endpoints);
    b.update([...endpoints].reverse());
    const ctx = context(pickRequest('/', { 'x-user': 'alice' }));
    const first = a.pick(ctx);
    for (let i = 0; i < 100; i++) expect(a.pick(ctx)).toBe(first);
    // Same endpoints in another order, in another client: the same choice for every key.
    const fromA = assign(a);
    expect(assign(b)).toEqual(fromA);
    // An update with the same endpoints changes nothing.
    a.update([...endpoints]);
    expect(assign(a)).toEqual(fromA);
  });
});

describe.each(policies)('$name retries', ({ make }) => {
  it('walk to a stable, distinct second and third choice for the same key', () => {
    const endpoints = fleet(20);
    const balancer = make();
    balancer.update(endpoints);
    for (const user of ['alice', 'bob', 'carol']) {
      const request = pickRequest('/', { 'x-user': user });
      const first = balancer.pick(context(request))!;
      const second = balancer.pick(context(request, new Set([first])))!;
      const third = balancer.pick(context(request, new Set([first, second])))!;
      expect(new Set([first, second, third]).size).toBe(3);
      // The same key retries along the same path every time.
      for (let i = 0; i < 10; i++) {
        expect(balancer.pick(context(request, new Set([first])))).toBe(second);
        expect(balancer.pick(context(request, new Set([first, second])))).toBe(third);
      }
    }
  });
});

describe('ring-hash minimal disruption', () => {
  it('moves only the keys of the removed endpoint', () => {
    const make = () => new RingHashBalancer({ hashOn }, seededRandom(1));
    expect(remapped(make, fleet(N), [5, 42]).onlyFromRemoved).toBe(true);
  });

  it('gives endpoints points in proportion to weight, within the ring-size bounds', () => {
    const ring = new RingHashBalancer({ hashOn, minRingSize: 1024, maxRingSize: 4096 }, seededRandom(1));
    ring.update(fakeEndpoints([1, 1]));
    expect(ring.ringSize).toBe(1024);
    ring.update(fakeEndpoints([1, 3]));
    expect(ring.ringSize).toBe(1024); // 256 points for the lighter one, 768 for the other
    ring.update(fakeEndpoints([1, 1000]));
    expect(ring.ringSize).toBe(2002); // the lighter one gets at least one point per 1/1024 of the ring: 2
    ring.update(fakeEndpoints([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 100]));
    expect(ring.ringSize).toBeLessThanOrEqual(4096 + 20);
  });
});

describe('request keys', () => {
  const hash = (value: string) => hashString(value, 0x6d657368);
  const cases: [string, ConstructorParameters<typeof RequestHasher>[0], string, Record<string, string>, string | undefined][] = [
    ['header', { header: 'X-User' }, '/', { 'x-user': 'alice' }, 'alice'],
    ['missing header', { header: 'x-user' }, '/', {}, undefined],
    ['empty header', { header: 'x-user' }, '/', { 'x-user': '' }, undefined],
    ['cookie', { cookie: 'sid' }, '/', { cookie: 'a=1; sid=abc#1; b=2' }, 'abc#1'],
    ['first cookie', { cookie: 'sid' }, '/', { cookie: 'sid=x' }, 'x'],
    ['cookie name as a suffix', { cookie: 'sid' }, '/', { cookie: 'xsid=1; sid=2' }, '2'],
    ['missing cookie', { cookie: 'sid' }, '/', { cookie: 'a=1' }, undefined],
    ['no cookie header', { cookie: 'sid' }, '/', {}, undefined],
    ['query', { query: 'user' }, '/a?x=1&user=bob&y=2', {}, 'bob'],
    ['query before a fragment', { query: 'user' }, '/a?user=bob#top', {}, 'bob'],
    ['query name as a suffix', { query: 'user' }, '/a?xuser=1&user=2', {}, '2'],
    ['missing query', { query: 'user' }, '/a?x=1', {}, undefined],
    ['no query string', { query: 'user' }, '/a', {}, undefined],
    ['empty query value', { query: 'user' }, '/a?user=&x=1', {}, undefined],
    ['path without query', 'path', '/a/b?c=d', {}, '/a/b'],
    ['path', 'path', '/a/b', {}, '/a/b'],
  ];
  it.each(cases)('%s', (_name, hashOnValue, path, headers, key) => {
    const hasher = new RequestHasher(hashOnValue);
    expect(hasher.hash(pickRequest(path, headers))).toBe(key === undefined ? -1 : hash(key));
  });
});

describe('session affinity through MeshClient', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await startServers(5);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  const ways: [string, Record<string, unknown>, (user: string) => { path: string; headers?: Record<string, string> }][] = [
    ['header', { header: 'x-user' }, (u) => ({ path: '/cart', headers: { 'x-user': u } })],
    ['cookie', { cookie: 'session' }, (u) => ({ path: '/cart', headers: { cookie: `theme=dark; session=${u}` } })],
    ['query', { query: 'user' }, (u) => ({ path: `/cart?user=${u}&page=2` })],
    ['path', 'path' as unknown as Record<string, unknown>, (u) => ({ path: `/users/${u}` })],
  ];
  for (const policy of ['ring-hash', 'maglev']) {
    for (const [way, hashOnValue, build] of ways) {
      it(`${policy} on ${way}: each user always reaches the same server`, async () => {
        const mesh = new MeshClient({
          services: { shop: { endpoints: servers.map((s) => s.url), loadBalancer: { policy, hashOn: hashOnValue } } },
          random: seededRandom(3),
        });
        const servedBy = new Map<string, Set<string>>();
        for (let round = 0; round < 4; round++) {
          for (let u = 0; u < 20; u++) {
            const user = `user-${u}`;
            const { path, headers } = build(user);
            const res = await mesh.request(`http://shop${path}`, { headers });
            const server = await res.body.text();
            if (!servedBy.has(user)) servedBy.set(user, new Set());
            servedBy.get(user)!.add(server);
          }
        }
        await mesh.close();
        // Every user stuck to one server, and the users were spread over several.
        expect([...servedBy.values()].map((s) => s.size)).toEqual(new Array<number>(20).fill(1));
        const used = new Set([...servedBy.values()].flatMap((s) => [...s]));
        expect(used.size).toBeGreaterThanOrEqual(3);
      });
    }
  }
});
