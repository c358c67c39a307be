import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { MeshClient, type HealthEvent, type MetricEvent } from '../../../src/index.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

describe('events and observers', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await startServers(1);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('delivers the same events to mesh.on and to every observer', async () => {
    const fromObserver: string[] = [];
    const fromOn: string[] = [];
    const mesh = new MeshClient({
      services: { a: { endpoints: [servers[0]!.url] } },
      observers: [{ onMetric: (e) => fromObserver.push(e.type), onHealth: (e) => fromObserver.push(e.type) }],
    });
    mesh.on('metric', (e) => fromOn.push(e.type));
    mesh.on('health', (e) => fromOn.push(e.type));
    await (await mesh.request('http://a/')).body.text();
    await mesh.updateConfig({ services: { a: { endpoints: [] } } });
    expect(fromOn).toEqual(['attempt', 'request', 'endpoint-removed']);
    expect(fromObserver).toEqual(['endpoint-added', 'attempt', 'request', 'endpoint-removed']);
    await mesh.close();
  });

  it('an observer or listener that throws never breaks a request; it is counted', async () => {
    const seen: MetricEvent[] = [];
    const mesh = new MeshClient({
      services: { a: { endpoints: [servers[0]!.url] } },
      observers: [
        {
          onMetric: () => {
            throw new Error('observer bug');
          },
        },
        { onMetric: (e) => seen.push(e) },
      ],
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    mesh.on('metric', () => {
      throw new Error('listener bug');
    });
    for (let i = 0; i < 3; i++) {
      const res = await mesh.request('http://a/');
      expect(await res.body.text()).toBe('s0');
    }
    expect(seen.filter((e) => e.type === 'request')).toHaveLength(3);
    // 2 events per request (attempt, request), each thrown by both the listener and the bad observer.
    expect(mesh.snapshot().observerErrors).toBe(12);
    await mesh.close();
  });

  it('reports a throwing observer once through the logger', async () => {
    const logged: string[] = [];
    const mesh = new MeshClient({
      services: { a: { endpoints: [servers[0]!.url] } },
      observers: [
        {
          onMetric: () => {
            throw new Error('bug');
          },
        },
      ],
      logger: { debug() {}, info() {}, warn() {}, error: (_f, m) => logged.push(m) },
    });
    for (let i = 0; i < 3; i++) await (await mesh.request('http://a/')).body.text();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/observer threw/);
    await mesh.close();
  });

  it('types events as discriminated unions', () => {
    const onHealth = (e: HealthEvent) => e.type;
    expectTypeOf(onHealth).parameter(0).toHaveProperty('endpoint');
    const narrow = (e: MetricEvent) => (e.type === 'request' ? e.attempts : e.type === 'retry' ? e.delayMs : 0);
    expectTypeOf(narrow).returns.toEqualTypeOf<number>();
  });
});
