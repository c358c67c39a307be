import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import type { IncomingHttpHeaders } from 'node:http';
import { request as undiciRequest, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, type HealthEvent, type MetricEvent } from '../../../src/index.js';
import { memoryMetrics, memoryTracing, SpanKind, SpanStatusCode, spansOf } from '../../helpers/otel.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

/** Data points of a sum as [attributes, value] pairs. */
function points(metric: MetricData | undefined): [Record<string, unknown>, unknown][] {
  if (!metric) return [];
  expect(metric.dataPointType).toBe(DataPointType.SUM);
  return metric.dataPoints.map((p) => [p.attributes, p.value]);
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A caller's abort is outcome `cancelled`: never a failure. The service has
 * every policy that counts failures set to trip on the first one, so any
 * leak of a cancel into them shows.
 */
describe("a caller's cancel", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('svc', (req, res) => {
      if (req.url === '/ok') res.end('ok');
      else if (req.url?.startsWith('/stream')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk'); // and never ends
      }
      // anything else: never answers
    });
  });
  afterAll(async () => {
    await server.close();
  });

  function client() {
    const m = memoryMetrics();
    const t = memoryTracing();
    const mesh = new MeshClient({
      services: {
        svc: {
          endpoints: [server.url],
          retry: { attempts: 3, retryOn: ['connect-failure', 'reset', 'timeout', '5xx'] },
          circuitBreaker: { consecutiveFailures: 1, service: { consecutiveFailures: 1 } },
          outlierDetection: { consecutiveLocalOriginFailure: 1, consecutive5xx: 1, maxEjectionPercent: 100 },
        },
      },
      telemetry: { meterProvider: m.provider, tracerProvider: t.provider, propagator: t.propagator },
    });
    const metrics: MetricEvent[] = [];
    const health: HealthEvent[] = [];
    mesh.on('metric', (e) => metrics.push(e));
    mesh.on('health', (e) => health.push(e));
    return { mesh, metrics, health, ...m, ...t };
  }

  /** What a cancel must leave untouched: breakers, the detector, the balancer's failure count, the retry budget. */
  function expectUntouched(mesh: MeshClient, health: HealthEvent[]): void {
    const svc = mesh.snapshot().services.svc!;
    expect(svc.endpoints.map((e) => [e.failures, e.circuit, (e.outlier as { ejected?: boolean } | undefined)?.ejected ?? false])).toEqual([
      [0, 'closed', false],
    ]);
    expect(svc.resilience).toMatchObject({ circuit: 'closed', ejected: 0, retryBudget: { retries: 0, withdrawn: 0, exhausted: 0 } });
    expect(health.map((e) => e.type).filter((t) => t !== 'endpoint-added')).toEqual([]);
  }

  it('while waiting for headers, on every door: outcome cancelled in events, metric and span; no breaker, ejection or budget effect', async () => {
    const { mesh, metrics, health, reader, exporter } = client();
    const signal = () => AbortSignal.timeout(50);
    const results = await Promise.allSettled([
      mesh.fetch('http://svc/wait-fetch', { signal: signal() }),
      mesh.request('http://svc/wait-request', { signal: signal() }),
      undiciRequest('http://svc/wait-dispatcher', { dispatcher: mesh.dispatcher, signal: signal() }),
      // A raw v2 handler through the dispatcher: its user calls controller.abort().
      new Promise((resolve, reject) => {
        const handler: Dispatcher.DispatchHandler = {
          onRequestStart(controller) {
            setTimeout(() => controller.abort(new Error('dispatcher user gave up')), 50);
          },
          onResponseStart(_c, status: number, _h: IncomingHttpHeaders) {
            resolve(status);
          },
          onResponseError(_c, error) {
            reject(error);
          },
        };
        mesh.dispatcher.dispatch({ origin: 'http://svc', path: '/wait-controller', method: 'GET' }, handler);
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ message: 'dispatcher user gave up' });

    const requests = metrics.filter((e) => e.type === 'request');
    expect(requests.map((e) => [e.outcome, e.error, e.attempts])).toEqual([
      ['cancelled', undefined, 1],
      ['cancelled', undefined, 1],
      ['cancelled', undefined, 1],
      ['cancelled', undefined, 1],
    ]);
    // The attempts were abandoned, not failed: no attempt outcome, no retry.
    expect(metrics.filter((e) => e.type !== 'request').map((e) => e.type)).toEqual([]);
    expectUntouched(mesh, health);

    const m = await reader.metrics();
    expect(points(m.get('proxyless.requests'))).toEqual([
      [{ 'proxyless.service': 'svc', 'http.request.method': 'GET', 'proxyless.outcome': 'cancelled' }, 4],
    ]);
    const spans = spansOf(exporter.getFinishedSpans(), SpanKind.INTERNAL);
    expect(spans.map((s) => [s.status.code, s.attributes['proxyless.outcome'], s.attributes['error.type']])).toEqual(
      Array.from({ length: 4 }, () => [SpanStatusCode.UNSET, 'cancelled', undefined]),
    );
    for (const s of spansOf(exporter.getFinishedSpans(), SpanKind.CLIENT)) expect(s.status.code).toBe(SpanStatusCode.UNSET);

    // The endpoint is still fully usable.
    expect(await (await mesh.request('http://svc/ok')).body.text()).toBe('ok');
    await mesh.close();
  });

  it('mid-body (body.destroy(), res.body.cancel(), an AbortSignal): outcome cancelled with the status; no breaker, ejection or budget effect', async () => {
    const { mesh, metrics, health, reader, exporter } = client();
    const viaRequest = await mesh.request('http://svc/stream-request');
    const viaFetch = await mesh.fetch('http://svc/stream-fetch');
    const controller = new AbortController();
    const viaSignal = await mesh.fetch('http://svc/stream-signal', { signal: controller.signal });
    await tick(20);
    viaRequest.body.destroy();
    await viaFetch.body!.cancel();
    controller.abort();
    await viaSignal.text().catch(() => undefined);
    await tick(50);

    const requests = metrics.filter((e) => e.type === 'request');
    expect(requests.map((e) => [e.outcome, e.status, e.error])).toEqual([
      ['cancelled', 200, undefined],
      ['cancelled', 200, undefined],
      ['cancelled', 200, undefined],
    ]);
    expect(metrics.filter((e) => e.type === 'attempt').map((e) => [e.status, e.error])).toEqual([
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ]);
    expectUntouched(mesh, health);
    const m = await reader.metrics();
    expect(points(m.get('proxyless.requests'))).toEqual([
      [{ 'proxyless.service': 'svc', 'http.request.method': 'GET', 'proxyless.outcome': 'cancelled' }, 3],
    ]);
    const spans = spansOf(exporter.getFinishedSpans(), SpanKind.INTERNAL);
    expect(spans.map((s) => [s.status.code, s.attributes['proxyless.outcome'], s.attributes['http.response.status_code']])).toEqual(
      Array.from({ length: 3 }, () => [SpanStatusCode.UNSET, 'cancelled', 200]),
    );
    expect(await (await mesh.request('http://svc/ok')).body.text()).toBe('ok');
    await mesh.close();
  });

  it('is told apart from a mesh-side end: a total deadline is a failure (MESH_TIMEOUT) with an Error span', async () => {
    const { mesh, metrics, exporter } = client();
    const err = await mesh.request('http://svc/wait', { mesh: { timeout: { totalMs: 50 }, retry: false } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MESH_TIMEOUT' });
    expect(metrics.filter((e) => e.type === 'request').map((e) => [e.outcome, e.error])).toEqual([['failure', 'MESH_TIMEOUT']]);
    const [span] = spansOf(exporter.getFinishedSpans(), SpanKind.INTERNAL);
    expect([span!.status.code, span!.attributes['error.type']]).toEqual([SpanStatusCode.ERROR, 'MESH_TIMEOUT']);
    await mesh.destroy();
  });
});
