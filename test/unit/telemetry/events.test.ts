import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  MeshClient,
  type ConfigEvent,
  type ConfigIssue,
  type HealthEvent,
  type Logger,
  type MeshClientOptions,
  type MetricEvent,
  type Observer,
  type TelemetryOptions,
} from '../../../src/index.js';
import { memoryMetrics, memoryTracing } from '../../helpers/otel.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

type LogLine = [level: string, message: string];

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    debug: (_f, m) => lines.push(['debug', m]),
    info: (_f, m) => lines.push(['info', m]),
    warn: (_f, m) => lines.push(['warn', m]),
    error: (_f, m) => lines.push(['error', m]),
  };
}

describe('events, observers, logs and snapshot', () => {
  let servers: TestServer[];
  beforeAll(async () => {
    servers = await startServers(2);
  });
  afterAll(() => Promise.all(servers.map((s) => s.close())));

  it('delivers every event to mesh.on and every observer; a throwing observer or listener never breaks a request', async () => {
    const seen: string[] = [];
    const recorder: Observer = {
      onHealth: (e) => seen.push(`health:${e.type}:${e.endpoint ?? ''}`),
      onMetric: (e) => seen.push(`metric:${e.type}`),
      onConfig: (e) => seen.push(`config:${e.type}`),
    };
    const thrower: Observer = {
      onHealth: () => {
        throw new Error('observer bug');
      },
      onMetric: () => {
        throw new Error('observer bug');
      },
    };
    const logger = recordingLogger();
    const [a, b] = servers.map((s) => s.url) as [string, string];
    const mesh = new MeshClient({ services: { orders: { endpoints: [a, b] } }, observers: [thrower, recorder], logger });
    const onMetric: MetricEvent['type'][] = [];
    mesh.on('metric', (e) => {
      onMetric.push(e.type);
      throw new Error('listener bug');
    });
    for (let i = 0; i < 2; i++) {
      const res = await mesh.request('http://orders/x');
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    await mesh.updateConfig({ services: { orders: { endpoints: [b] } } });
    expect(seen).toEqual([
      `health:endpoint-added:${a}`,
      `health:endpoint-added:${b}`,
      'config:applied',
      'metric:attempt',
      'metric:request',
      'metric:attempt',
      'metric:request',
      `health:endpoint-removed:${a}`,
      'config:applied',
    ]);
    expect(onMetric).toEqual(['attempt', 'request', 'attempt', 'request']);
    // 2 health events at construction + 4 metric events + 1 health event, from the observer;
    // 4 from the listener. Each source is reported once.
    expect(mesh.snapshot().observerErrors).toBe(2 + 4 + 1 + 4);
    expect(logger.lines.filter(([level]) => level === 'error')).toEqual([
      ['error', 'proxyless: an observer threw; its errors are counted, reported once'],
      ["error", "proxyless: a 'metric' listener threw; its errors are counted, reported once"],
    ]);
    await mesh.close();
  });

  it('logs control-side decisions through the logger, with levels', async () => {
    const logger = recordingLogger();
    const [a] = servers.map((s) => s.url) as [string];
    const mesh = new MeshClient({ services: { orders: { endpoints: [a] } }, logger });
    await expect(mesh.updateConfig({ services: { orders: { endpoints: ['nope'] } } })).rejects.toThrow();
    await mesh.updateConfig({ services: {} });
    expect(logger.lines).toEqual([
      ['info', `proxyless: orders endpoint-added ${a}`],
      ['info', 'proxyless: config applied (version 1)'],
      ['warn', 'proxyless: config rejected'],
      ['info', `proxyless: orders endpoint-removed ${a}`],
      ['info', 'proxyless: config applied (version 2)'],
    ]);
    await mesh.close();
  });

  it('types events as discriminated unions', () => {
    const health = (e: HealthEvent): void => {
      if (e.type === 'endpoint-ejected') expectTypeOf(e.durationMs).toEqualTypeOf<number | undefined>();
      if (e.type === 'circuit-open') expectTypeOf(e.endpoint).toEqualTypeOf<string | undefined>();
      if (e.type === 'panic') expectTypeOf(e.usable).toEqualTypeOf<number | undefined>();
    };
    const metric = (e: MetricEvent): void => {
      if (e.type === 'request') expectTypeOf(e.attempts).toEqualTypeOf<number>();
      if (e.type === 'retry') expectTypeOf(e.delayMs).toEqualTypeOf<number>();
      if (e.type === 'discovery-error') expectTypeOf(e.provider).toEqualTypeOf<string>();
    };
    const config = (e: ConfigEvent): void => {
      if (e.type === 'applied') expectTypeOf(e.version).toEqualTypeOf<number>();
      else expectTypeOf(e.issues).toEqualTypeOf<readonly ConfigIssue[]>();
    };
    expectTypeOf<HealthEvent['type']>().toEqualTypeOf<
      | 'endpoint-added'
      | 'endpoint-removed'
      | 'endpoint-healthy'
      | 'endpoint-unhealthy'
      | 'endpoint-ejected'
      | 'endpoint-restored'
      | 'circuit-open'
      | 'circuit-half-open'
      | 'circuit-closed'
      | 'panic'
      | 'peer-identity-rejected'
      | 'tls-updated'
      | 'tls-update-rejected'
      | 'discovery-failed'
      | 'discovery-recovered'
      | 'discovery-rejected'
    >();
    expect([health, metric, config].map((f) => typeof f)).toEqual(['function', 'function', 'function']);
  });

  it('snapshot() is the whole picture as plain JSON', async () => {
    const t = memoryTracing();
    const m = memoryMetrics();
    const [a, b] = servers.map((s) => s.url) as [string, string];
    const mesh = new MeshClient({
      services: { orders: { endpoints: [a, { url: b, weight: 3, zone: 'z', labels: { v: '2' } }] } },
      telemetry: { tracerProvider: t.provider, meterProvider: m.provider },
    });
    for (let i = 0; i < 2; i++) await (await mesh.request('http://orders/x')).body.text();
    const snap = mesh.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    const perEndpoint = {
      inflight: 0,
      attempts: expect.any(Number),
      failures: 0,
      connected: expect.any(Boolean),
      down: [],
      circuit: 'closed',
      outlier: { ejected: false, timesEjected: 0 },
    };
    expect(snap.services.orders!.endpoints.reduce((n, e) => n + (e.attempts as number), 0)).toBe(2);
    expect(snap).toEqual({
      version: 1,
      time: expect.any(Number),
      closed: false,
      egress: 'allow',
      observerErrors: 0,
      telemetry: { spans: 'auto', tracing: true, clientSpans: true, metrics: true },
      services: {
        orders: {
          loadBalancer: { policy: 'round-robin' },
          connection: { maxConnections: 64, pipelining: 1, connectTimeoutMs: 10_000, keepAliveTimeoutMs: 4_000 },
          usableEndpoints: 2,
          panic: false,
          inflight: 0,
          resilience: {
            retryBudget: { requests: 2, retries: 0, available: 10, withdrawn: 0, exhausted: 0 },
            requeueBudget: { requests: 2, retries: 0, available: 11, withdrawn: 0, exhausted: 0 },
            ejected: 0,
          },
          endpoints: [
            { url: a, weight: 1, effectiveWeight: 1, zone: null, priority: 0, labels: {}, ...perEndpoint },
            { url: b, weight: 3, effectiveWeight: 3, zone: 'z', priority: 0, labels: { v: '2' }, ...perEndpoint },
          ],
          tls: { generation: 0, requireTls: false },
          routing: {
            routes: [],
            destinations: { '*': { endpoints: 2, panic: false, groups: [{ group: 'p0', endpoints: 2, share: 1 }] } },
          },
        },
      },
    });
    await mesh.close();
    expect(mesh.snapshot().telemetry).toEqual({ spans: 'auto', tracing: true, clientSpans: true, metrics: false });
  });

  it('types the telemetry option', () => {
    expectTypeOf<MeshClientOptions['telemetry']>().toEqualTypeOf<TelemetryOptions | undefined>();
    expectTypeOf<TelemetryOptions['spans']>().toEqualTypeOf<'auto' | 'client' | 'off' | undefined>();
    // @ts-expect-error a typo in an option name is a compile error
    const bad: TelemetryOptions = { span: 'auto' };
    expect(bad).toBeDefined();
  });

  it('contains a throwing logger like an observer', async () => {
    const broken: Logger = {
      debug: () => {},
      info: () => {
        throw new Error('logger bug');
      },
      warn: () => {},
      error: () => {},
    };
    const [a] = servers.map((s) => s.url) as [string];
    const mesh = new MeshClient({ services: { orders: { endpoints: [a] } }, logger: broken });
    const res = await mesh.request('http://orders/x');
    expect(res.statusCode).toBe(200);
    await res.body.text();
    // endpoint-added and config applied were logged at info: both threw, both counted.
    expect(mesh.snapshot().observerErrors).toBe(2);
    await mesh.close();
  });

  it('rejects a bad telemetry option by path', () => {
    let error: unknown;
    try {
      new MeshClient({ telemetry: { spans: 'all', metrics: 'yes', tracerProvider: {} } as never });
    } catch (e) {
      error = e;
    }
    expect((error as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      'telemetry.spans',
      'telemetry.metrics',
      'telemetry.tracerProvider',
    ]);
  });

  it('writes per-component debug channels with NODE_DEBUG=proxyless*', () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const code = `
      import { MeshClient } from './src/index.ts';
      const mesh = new MeshClient({ services: { orders: { endpoints: ['http://127.0.0.1:1'] } } });
      await mesh.close();
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: root,
      env: { ...process.env, NODE_DEBUG: 'proxyless*' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    const channels = new Set([...r.stderr.matchAll(/^(PROXYLESS[:A-Z]*) \d+:/gm)].map((m) => m[1]));
    expect([...channels].sort()).toEqual(['PROXYLESS', 'PROXYLESS:CLIENT', 'PROXYLESS:TELEMETRY']);
  });
});
