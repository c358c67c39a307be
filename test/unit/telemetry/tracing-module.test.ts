import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient } from '../../../src/index.js';
import { Tracing } from '../../../src/telemetry/otel-tracing.js';
import { errorType, fullUrl, normalizeMethod, targetOf } from '../../../src/telemetry/semconv.js';
import { memoryTracing, spansOf, SpanKind } from '../../helpers/otel.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

describe('tracing hooks (module level)', () => {
  it('gives 2 CLIENT spans with resend_count absent then 1 under one parent, with decision events', () => {
    const t = memoryTracing();
    const tracing = new Tracing({ spans: 'client', tracerProvider: t.provider, propagator: t.propagator });
    const req = tracing.start('GET', 'orders', false)!;
    const to = (port: number) => ({ target: targetOf(`http://127.0.0.1:${port}`), endpoint: `http://127.0.0.1:${port}`, policy: 'round-robin', candidates: 2 });
    const callerHeaders = ['host', 'orders', 'TraceParent', '00-11111111111111111111111111111111-2222222222222222-01', 'x-b', '2'];
    const a0 = req.attempt(0, to(8081), 'GET', '/x', callerHeaders);
    a0.end(503, undefined, false);
    // Decisions raised while the outcome of attempt 0 is processed land on this request.
    tracing.decision({ type: 'endpoint-ejected', service: 'orders', time: 0, endpoint: 'http://127.0.0.1:8081', reason: '5 consecutive 5xx' });
    tracing.decision({ type: 'retry', service: 'orders', time: 0, reason: 'gateway-error', delayMs: 25, attempt: 1 });
    tracing.decision({ type: 'retry', service: 'billing', time: 0, reason: 'reset', delayMs: 1, attempt: 1 });
    const a1 = req.attempt(1, to(8082), 'GET', '/x', callerHeaders);
    // After the next attempt started, a late event no longer belongs to this request.
    tracing.decision({ type: 'retry-refused', service: 'orders', time: 0, reason: 'deadline' });
    a1.end(200, undefined, false);
    req.end(200, undefined, 2, false);

    const spans = t.exporter.getFinishedSpans();
    const clients = spansOf(spans, SpanKind.CLIENT);
    const [internal] = spansOf(spans, SpanKind.INTERNAL);
    expect(clients.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1]);
    expect(clients.map((s) => s.attributes['server.port'])).toEqual([8081, 8082]);
    expect(clients.map((s) => s.parentSpanContext?.spanId)).toEqual([internal!.spanContext().spanId, internal!.spanContext().spanId]);
    expect(internal!.attributes['proxyless.attempts']).toBe(2);
    expect(internal!.events.map((e) => [e.name, e.attributes])).toEqual([
      ['proxyless.endpoint.picked', { 'proxyless.endpoint': 'http://127.0.0.1:8081', 'proxyless.lb.policy': 'round-robin', 'proxyless.lb.candidates': 2, 'proxyless.attempt': 0 }],
      ['proxyless.endpoint.ejected', { 'proxyless.endpoint': 'http://127.0.0.1:8081', 'proxyless.reason': '5 consecutive 5xx' }],
      ['proxyless.retry.scheduled', { 'proxyless.reason': 'gateway-error', 'proxyless.delay_ms': 25, 'proxyless.attempt': 1 }],
      ['proxyless.endpoint.picked', { 'proxyless.endpoint': 'http://127.0.0.1:8082', 'proxyless.lb.policy': 'round-robin', 'proxyless.lb.candidates': 2, 'proxyless.attempt': 1 }],
    ]);
    // Each attempt carries its own CLIENT span id, set once (the caller's value replaced).
    const sent = [a0.headers, a1.headers] as string[][];
    expect(sent.map((h) => h.filter((_, i) => i % 2 === 0 && h[i]!.toLowerCase() === 'traceparent').length)).toEqual([1, 1]);
    expect(sent.map((h) => h[h.findIndex((n) => n.toLowerCase() === 'traceparent') + 1])).toEqual(
      clients.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`),
    );
    expect(callerHeaders[3]).toBe('00-11111111111111111111111111111111-2222222222222222-01');
  });

  it('names unknown methods HTTP with _OTHER and the original method', () => {
    const t = memoryTracing();
    const tracing = new Tracing({ spans: 'client', tracerProvider: t.provider });
    const req = tracing.start('PURGE', 'cache', false)!;
    req.attempt(0, { target: targetOf('http://cache.internal:8080') }, 'PURGE', '/k', undefined).end(200, undefined, false);
    req.end(200, undefined, 1, false);
    const [clientSpan] = spansOf(t.exporter.getFinishedSpans(), SpanKind.CLIENT);
    expect(clientSpan!.name).toBe('HTTP');
    expect(clientSpan!.attributes['http.request.method']).toBe('_OTHER');
    expect(clientSpan!.attributes['http.request.method_original']).toBe('PURGE');
    // A host name is not a peer address: network.peer.* are left out.
    expect(clientSpan!.attributes['server.address']).toBe('cache.internal');
    expect(clientSpan!.attributes['network.peer.address']).toBeUndefined();
  });

  it('redacts credentials and sensitive query values in url.full', () => {
    expect(fullUrl('http://u:p@h:1', '/x?Signature=a&AWSAccessKeyId=b&X-Goog-Signature=c&sig=d&keep=e#f')).toBe(
      'http://REDACTED:REDACTED@h:1/x?Signature=REDACTED&AWSAccessKeyId=REDACTED&X-Goog-Signature=REDACTED&sig=REDACTED&keep=e#f',
    );
    expect(fullUrl('https://h', '/p')).toBe('https://h/p');
    expect(targetOf('https://[::1]')).toEqual({ scheme: 'https', address: '::1', port: 443, origin: 'https://[::1]', ip: true });
    expect(normalizeMethod('get')).toBe('GET');
    expect([errorType(200, undefined), errorType(404, undefined), errorType(undefined, new Error('x')), errorType(undefined, { code: 'ECONNRESET' })]).toEqual([
      undefined,
      '404',
      '_OTHER',
      'ECONNRESET',
    ]);
  });

  it('returns no trace at all without an SDK', () => {
    const tracing = new Tracing({ spans: 'auto' });
    expect(tracing.tracer()).toBeUndefined();
    expect(tracing.start('GET', 'orders', false)).toBeUndefined();
  });
});

describe('tracing a retried request end to end', () => {
  let server: TestServer;
  beforeAll(async () => {
    let n = 0;
    server = await startServer('flaky', (_req, res) => {
      res.statusCode = n++ === 0 ? 503 : 200;
      res.end();
    });
  });
  afterAll(() => server.close());

  it('gives 2 CLIENT spans (resend_count absent, then 1) under one parent for a retried request', async () => {
    const t = memoryTracing();
    const mesh = new MeshClient({
      services: { orders: { endpoints: [server.url], retry: { attempts: 2, retryOn: ['5xx'] } } },
      telemetry: { tracerProvider: t.provider, propagator: t.propagator },
    });
    const res = await mesh.request('http://orders/r');
    await res.body.text();
    const spans = t.exporter.getFinishedSpans();
    const clients = spansOf(spans, SpanKind.CLIENT);
    const [internal] = spansOf(spans, SpanKind.INTERNAL);
    expect(clients.map((s) => [s.attributes['http.response.status_code'], s.attributes['http.request.resend_count']])).toEqual([
      [503, undefined],
      [200, 1],
    ]);
    expect(new Set(clients.map((s) => s.parentSpanContext?.spanId))).toEqual(new Set([internal!.spanContext().spanId]));
    expect(internal!.attributes['proxyless.attempts']).toBe(2);
    expect(server.requests.map((r) => r.headers.traceparent)).toEqual(
      clients.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`),
    );
    await mesh.close();
  });
});
