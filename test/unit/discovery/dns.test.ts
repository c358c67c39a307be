import { describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, dnsDiscovery, type DnsResolver } from '../../../src/index.js';
import { manualClock } from '../../helpers/clock.js';

/** A scripted resolver: answers from a table the test edits, logging every query. */
function fakeResolver() {
  const a = new Map<string, { address: string; ttl: number }[] | Error>();
  const srv = new Map<string, { name: string; port: number; priority: number; weight: number }[]>();
  const queries: string[] = [];
  const answer = <T>(v: T | Error | undefined, name: string): Promise<T> => {
    if (v instanceof Error) return Promise.reject(v);
    if (v === undefined) return Promise.reject(Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(v);
  };
  const resolver: DnsResolver = {
    resolve4: (name) => {
      queries.push(`A ${name}`);
      return answer(a.get(name), name);
    },
    resolve6: (name) => {
      queries.push(`AAAA ${name}`);
      return answer<{ address: string; ttl: number }[]>(undefined, name);
    },
    resolveSrv: (name) => {
      queries.push(`SRV ${name}`);
      return answer(srv.get(name), name);
    },
  };
  return { resolver, a, srv, queries };
}

describe('dnsDiscovery', () => {
  it('resolves A records and refreshes on the TTL within the bounds', async () => {
    const clock = manualClock();
    const dns = fakeResolver();
    dns.a.set('orders.internal', [
      { address: '10.0.0.1', ttl: 5 },
      { address: '10.0.0.2', ttl: 3 },
    ]);
    const mesh = new MeshClient({
      clock,
      random: () => 0, // no jitter
      services: { orders: { discovery: dnsDiscovery({ hostname: 'orders.internal', port: 8080, resolver: dns.resolver, minTtlMs: 2_000, maxTtlMs: 60_000 }) } },
    });
    const events: string[] = [];
    mesh.on('health', (e) => events.push(`${clock.now()} ${e.type} ${e.endpoint ?? e.reason ?? ''}`));
    await clock.advance(0);
    expect(events).toEqual(['0 endpoint-added http://10.0.0.1:8080', '0 endpoint-added http://10.0.0.2:8080']);
    events.length = 0;
    expect(mesh.snapshot().services.orders!.endpoints.map((e) => e.url)).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.2:8080']);
    dns.a.set('orders.internal', [{ address: '10.0.0.3', ttl: 0 }]);
    await clock.advance(2_999);
    expect(events).toEqual([]); // the smallest TTL (3 s) has not expired
    await clock.advance(1);
    expect(events).toEqual(['3000 endpoint-added http://10.0.0.3:8080', '3000 endpoint-removed http://10.0.0.1:8080', '3000 endpoint-removed http://10.0.0.2:8080']);
    // TTL 0 is bounded below by minTtlMs: the next query is 2 s later, not at once.
    const before = dns.queries.length;
    await clock.advance(1_999);
    expect(dns.queries.length).toBe(before);
    await clock.advance(1);
    expect(dns.queries.length).toBe(before + 1);
    await mesh.close();
    expect(clock.pending()).toBe(0);
  });

  it('reads SRV weight, priority and port, resolving targets', async () => {
    const clock = manualClock();
    const dns = fakeResolver();
    dns.srv.set('_http._tcp.orders', [
      { name: 'a.internal', port: 8081, priority: 0, weight: 10 },
      { name: 'b.internal', port: 8082, priority: 1, weight: 0 },
      { name: '10.0.0.9', port: 9000, priority: 0, weight: 5 },
    ]);
    dns.a.set('a.internal', [{ address: '10.0.0.1', ttl: 60 }]);
    dns.a.set('b.internal', [{ address: '10.0.0.2', ttl: 7 }]);
    const mesh = new MeshClient({
      clock,
      random: () => 0,
      services: { orders: { discovery: dnsDiscovery({ type: 'SRV', hostname: '_http._tcp.orders', resolver: dns.resolver, srvRefreshMs: 30_000 }) } },
    });
    await clock.advance(0);
    expect(mesh.snapshot().services.orders!.endpoints.map((e) => [e.url, e.weight, e.priority])).toEqual([
      ['http://10.0.0.1:8081', 10, 0],
      ['http://10.0.0.2:8082', 0.01, 1],
      ['http://10.0.0.9:9000', 5, 0],
    ]);
    dns.queries.length = 0;
    await clock.advance(7_000); // the shortest target TTL (7 s) drives the refresh
    expect(dns.queries).toEqual(['SRV _http._tcp.orders', 'A a.internal', 'AAAA a.internal', 'A b.internal', 'AAAA b.internal']);
    await mesh.close();
  });

  it('keeps the last known good set on failures, backs off, and ignores NXDOMAIN unless allowEmpty', async () => {
    const clock = manualClock();
    const dns = fakeResolver();
    dns.a.set('orders', [{ address: '10.0.0.1', ttl: 10 }]);
    const mesh = new MeshClient({
      clock,
      random: () => 0,
      discovery: dnsDiscovery({ resolver: dns.resolver, port: 80, minTtlMs: 1_000 }),
      services: { orders: {} },
    });
    const events: string[] = [];
    mesh.on('health', (e) => events.push(`${clock.now()} ${e.type}`));
    await clock.advance(0);
    events.length = 0;
    dns.a.set('orders', Object.assign(new Error('queryA ETIMEOUT orders'), { code: 'ETIMEOUT' }));
    dns.queries.length = 0;
    await clock.advance(10_000 + 1_000 + 2_000 + 4_000);
    expect(dns.queries.filter((q) => q.startsWith('A '))).toHaveLength(4); // at 10 s, then +1 s, +2 s, +4 s
    expect(events).toEqual(['10000 discovery-failed']);
    expect(mesh.snapshot().services.orders!.endpoints.map((e) => e.url)).toEqual(['http://10.0.0.1']);
    expect(mesh.snapshot().services.orders!.discovery).toMatchObject({ active: null, stale: true });
    dns.a.delete('orders'); // NXDOMAIN: an empty answer from a working server
    await clock.advance(8_000);
    expect(events).toEqual(['10000 discovery-failed', '25000 discovery-recovered', '25000 discovery-rejected']);
    expect(mesh.snapshot().services.orders!.endpoints).toHaveLength(1);
    await mesh.close();
  });

  it('is a registered type for configuration files', () => {
    const mesh = new MeshClient({ services: { orders: { discovery: { type: 'dns', hostname: 'orders.invalid', recordType: 'SRV', servers: ['127.0.0.1:1'] } } } });
    expect(mesh.snapshot().services.orders!.discovery!.sources[0]!.source).toBe('dns:SRV:orders.invalid@127.0.0.1:1');
    void mesh.close();
    expect(() => new MeshClient({ services: { orders: { discovery: { type: 'dns', recordType: 'MX', port: 0 } } } })).toThrow(MeshConfigError);
  });
});
