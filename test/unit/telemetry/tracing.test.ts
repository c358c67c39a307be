import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { TraceFlags, context, propagation, trace, type SpanKind as ApiSpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SamplingDecision,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import { Headers } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError } from '../../../src/index.js';
import { memoryTracing, spansOf, SpanKind, SpanStatusCode } from '../../helpers/otel.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

describe('tracing (stable HTTP client conventions)', () => {
  let server: TestServer;
  let closedPort: number;
  beforeAll(async () => {
    server = await startServer('s0', (req, res) => {
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      res.statusCode = status;
      res.end('ok');
    });
    const gone = await startServer('gone');
    closedPort = gone.port;
    await gone.close();
  });
  afterAll(() => server.close());
  afterEach(() => {
    server.requests.length = 0;
    trace.disable();
    propagation.disable();
    context.disable();
  });

  function client(extra: Record<string, unknown> = {}) {
    const t = memoryTracing();
    const mesh = new MeshClient({
      // One attempt per request unless a test turns retries on: spans are checked one by one.
      services: { orders: { endpoints: [server.url], retry: false } },
      telemetry: { tracerProvider: t.provider, propagator: t.propagator, ...extra },
    });
    return { mesh, ...t };
  }

  it('makes one INTERNAL span per request and one CLIENT span per attempt, attributes to the letter', async () => {
    const { mesh, exporter } = client();
    const res = await mesh.request('http://orders/orders/42?sig=secret&x=1');
    await res.body.text();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);
    const [clientSpan] = spansOf(spans, SpanKind.CLIENT);
    const [internal] = spansOf(spans, SpanKind.INTERNAL);
    expect(clientSpan!.name).toBe('GET');
    expect(clientSpan!.instrumentationScope.name).toBe('proxyless');
    expect(clientSpan!.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.full': `http://127.0.0.1:${server.port}/orders/42?sig=REDACTED&x=1`,
      'network.peer.address': '127.0.0.1',
      'network.peer.port': server.port,
      'http.response.status_code': 200,
      'network.protocol.version': '1.1',
    });
    expect(clientSpan!.status.code).toBe(SpanStatusCode.UNSET);
    expect(clientSpan!.parentSpanContext?.spanId).toBe(internal!.spanContext().spanId);
    expect(internal!.name).toBe('GET orders');
    expect(internal!.attributes).toEqual({
      'proxyless.service': 'orders',
      'http.request.method': 'GET',
      'proxyless.route': 'default',
      'proxyless.destination': 'orders',
      'proxyless.attempts': 1,
      'http.response.status_code': 200,
    });
    expect(internal!.events.map((e) => [e.name, e.attributes])).toEqual([
      [
        'proxyless.endpoint.picked',
        { 'proxyless.endpoint': server.url, 'proxyless.lb.policy': 'round-robin', 'proxyless.lb.candidates': 1, 'proxyless.attempt': 0 },
      ],
    ]);
    // The server continues the trace of the CLIENT span.
    const ctx = clientSpan!.spanContext();
    expect(server.requests.map((r) => r.headers.traceparent)).toEqual([`00-${ctx.traceId}-${ctx.spanId}-01`]);
    await mesh.close();
  });

  it('continues the caller’s active span and replaces a traceparent the caller set', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const { mesh, exporter, provider } = client();
    const outer = provider.getTracer('app').startSpan('handler');
    const stale = '00-11111111111111111111111111111111-2222222222222222-01';
    await context.with(trace.setSpan(context.active(), outer), async () => {
      const res = await mesh.request('http://orders/a', { headers: { traceparent: stale, 'x-a': '1' } });
      await res.body.text();
      // The fetch door too, with a Headers object.
      const r2 = await mesh.fetch('http://orders/b', { headers: new Headers({ traceparent: stale, 'x-a': '2' }) });
      await r2.text();
    });
    outer.end();
    const ours = exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === 'proxyless');
    const internals = spansOf(ours, SpanKind.INTERNAL);
    const clients = spansOf(ours, SpanKind.CLIENT);
    expect(internals.map((s) => s.parentSpanContext?.spanId)).toEqual([outer.spanContext().spanId, outer.spanContext().spanId]);
    expect(internals.map((s) => s.spanContext().traceId)).toEqual([outer.spanContext().traceId, outer.spanContext().traceId]);
    expect(server.requests.map((r) => [r.url, r.headers.traceparent, r.headers['x-a']])).toEqual(
      clients.map((c, i) => [['/a', '/b'][i], `00-${outer.spanContext().traceId}-${c.spanContext().spanId}-01`, String(i + 1)]),
    );
    await mesh.close();
  });

  it('sets Error status and error.type for 5xx (both spans) and 4xx (CLIENT span only)', async () => {
    const { mesh, exporter } = client();
    for (const status of [503, 404]) {
      const res = await mesh.request(`http://orders/s?status=${status}`);
      await res.body.text();
    }
    const spans = exporter.getFinishedSpans();
    const clients = spansOf(spans, SpanKind.CLIENT);
    const internals = spansOf(spans, SpanKind.INTERNAL);
    expect(clients.map((s) => [s.attributes['http.response.status_code'], s.attributes['error.type'], s.status.code])).toEqual([
      [503, '503', SpanStatusCode.ERROR],
      [404, '404', SpanStatusCode.ERROR],
    ]);
    expect(internals.map((s) => [s.attributes['http.response.status_code'], s.attributes['error.type'], s.status.code])).toEqual([
      [503, '503', SpanStatusCode.ERROR],
      [404, undefined, SpanStatusCode.UNSET],
    ]);
    await mesh.close();
  });

  it('records a transport failure on both spans', async () => {
    const t = memoryTracing();
    const mesh = new MeshClient({
      services: { dead: { endpoints: [`http://127.0.0.1:${closedPort}`], retry: false } },
      telemetry: { tracerProvider: t.provider, propagator: t.propagator },
    });
    const error = await mesh.request('http://dead/x').catch((e: unknown) => e);
    expect(isMeshError(error)).toBe(true);
    const [clientSpan] = spansOf(t.exporter.getFinishedSpans(), SpanKind.CLIENT);
    const [internal] = spansOf(t.exporter.getFinishedSpans(), SpanKind.INTERNAL);
    expect(clientSpan!.attributes['error.type']).toBe('ECONNREFUSED');
    expect(clientSpan!.attributes['http.response.status_code']).toBeUndefined();
    expect(clientSpan!.status.code).toBe(SpanStatusCode.ERROR);
    expect(clientSpan!.events.map((e) => e.name)).toEqual(['exception']);
    expect(internal!.attributes['error.type']).toBe('MESH_UPSTREAM_FAILURE');
    expect(internal!.attributes['proxyless.attempts']).toBe(1);
    expect(internal!.status.code).toBe(SpanStatusCode.ERROR);
    await mesh.close();
  });

  it('does not mark a caller’s abort as an error', async () => {
    const slow = await startServer('slow', () => {
      /* never answers */
    });
    const t = memoryTracing();
    const mesh = new MeshClient({
      services: { slow: { endpoints: [slow.url] } },
      telemetry: { tracerProvider: t.provider, propagator: t.propagator },
    });
    const ac = new AbortController();
    const pending = mesh.request('http://slow/x', { signal: ac.signal }).catch((e: unknown) => e);
    while (slow.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await pending;
    const spans = t.exporter.getFinishedSpans();
    expect(spans.map((s) => [s.kind, s.status.code])).toEqual([
      [SpanKind.CLIENT, SpanStatusCode.UNSET],
      [SpanKind.INTERNAL, SpanStatusCode.UNSET],
    ]);
    await mesh.close();
    await slow.close();
  });

  it('traces egress traffic with proxyless.egress', async () => {
    const t = memoryTracing();
    const mesh = new MeshClient({ telemetry: { tracerProvider: t.provider, propagator: t.propagator } });
    const res = await mesh.request(`${server.url}/e`, { method: 'PATCH', body: 'x' });
    await res.body.text();
    const [clientSpan] = spansOf(t.exporter.getFinishedSpans(), SpanKind.CLIENT);
    const [internal] = spansOf(t.exporter.getFinishedSpans(), SpanKind.INTERNAL);
    expect(clientSpan!.name).toBe('PATCH');
    expect(clientSpan!.attributes['url.full']).toBe(`${server.url}/e`);
    expect(internal!.name).toBe('PATCH 127.0.0.1');
    expect(internal!.attributes['proxyless.egress']).toBe(true);
    expect(server.requests[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await mesh.close();
  });

  it('records the matched route and destination', async () => {
    const t = memoryTracing();
    const mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [{ url: server.url, labels: { version: 'v2' } }],
          routes: [{ name: 'canary', match: { headers: { 'x-canary': 'yes' } }, split: [{ subset: { version: 'v2' }, weight: 1 }] }],
        },
      },
      telemetry: { tracerProvider: t.provider, propagator: t.propagator },
    });
    await (await mesh.request('http://orders/c', { headers: { 'x-canary': 'yes' } })).body.text();
    await (await mesh.request('http://orders/c')).body.text();
    const internals = spansOf(t.exporter.getFinishedSpans(), SpanKind.INTERNAL);
    expect(internals.map((s) => [s.attributes['proxyless.route'], s.attributes['proxyless.destination']])).toEqual([
      ['canary', 'orders[version=v2]'],
      ['default', 'orders'],
    ]);
    await mesh.close();
  });

  it('ends the INTERNAL span with the refusal when nothing could be sent', async () => {
    const t = memoryTracing();
    const mesh = new MeshClient({
      services: { empty: {} },
      egress: 'deny',
      telemetry: { tracerProvider: t.provider, propagator: t.propagator },
    });
    for (const url of ['http://empty/x', 'http://elsewhere/y']) await mesh.request(url).catch(() => undefined);
    expect(
      t.exporter.getFinishedSpans().map((s) => [s.kind, s.name, s.attributes['error.type'], s.attributes['proxyless.attempts'], s.status.code]),
    ).toEqual([
      [SpanKind.INTERNAL, 'GET empty', 'MESH_NO_HEALTHY_ENDPOINT', 0, SpanStatusCode.ERROR],
      [SpanKind.INTERNAL, 'GET elsewhere', 'MESH_UNKNOWN_SERVICE', 0, SpanStatusCode.ERROR],
    ]);
    await mesh.close();
  });

  it("spans: 'auto' makes no CLIENT span for a request the sampler dropped, and propagates the decision; 'client' still asks", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    /** The SDK's default sampler (parent-based), counting what it is asked about. */
    const asked: ApiSpanKind[] = [];
    const inner = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(1) });
    const counting: Sampler = {
      shouldSample: (ctx, traceId, name, kind, attributes, links) => {
        asked.push(kind);
        return inner.shouldSample(ctx, traceId, name, kind, attributes, links);
      },
      toString: () => 'counting',
    };
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ sampler: counting, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const t = memoryTracing();
    // An upstream that decided not to sample: its context arrives with the sampled flag off.
    const upstream = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE });
    const send = async (spans: 'auto' | 'client') => {
      const mesh = new MeshClient({
        services: { orders: { endpoints: [server.url], retry: false } },
        telemetry: { tracerProvider: provider, propagator: t.propagator, spans },
      });
      await context.with(trace.setSpan(context.active(), upstream), async () => {
        await (await mesh.request(`http://orders/${spans}`, { headers: { traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01` } })).body.text();
      });
      await mesh.close();
    };
    await send('auto');
    // Only the INTERNAL span was sampled for; nothing recorded; the server continues the trace, unsampled, with
    // the caller's stale traceparent replaced.
    expect(asked).toEqual([SpanKind.INTERNAL]);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const [auto] = server.requests.map((r) => r.headers.traceparent);
    expect(auto).toMatch(new RegExp(`^00-${'a'.repeat(32)}-[0-9a-f]{16}-00$`));
    expect(auto).not.toContain('b'.repeat(16));

    asked.length = 0;
    await send('client');
    expect(asked).toEqual([SpanKind.INTERNAL, SpanKind.CLIENT]);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(server.requests[1]!.headers.traceparent).toMatch(new RegExp(`^00-${'a'.repeat(32)}-[0-9a-f]{16}-00$`));
    await provider.shutdown();
  });

  it("spans: 'client' lets a sampler that is not parent-based record the CLIENT span of a dropped request", async () => {
    /** Drops INTERNAL spans and records CLIENT ones, whatever the parent: what 'client' is kept for. */
    const clientOnly: Sampler = {
      shouldSample: (_ctx, _traceId, _name, kind) => ({
        decision: kind === SpanKind.CLIENT ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD,
      }),
      toString: () => 'client-only',
    };
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ sampler: clientOnly, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const t = memoryTracing();
    for (const spans of ['auto', 'client'] as const) {
      const mesh = new MeshClient({
        services: { orders: { endpoints: [server.url], retry: false } },
        telemetry: { tracerProvider: provider, propagator: t.propagator, spans },
      });
      await (await mesh.request(`http://orders/${spans}`)).body.text();
      await mesh.close();
    }
    // 'auto' skipped the CLIENT span under the dropped INTERNAL one; 'client' made it, and the sampler recorded it.
    const recorded = exporter.getFinishedSpans();
    expect(recorded.map((s) => s.kind)).toEqual([SpanKind.CLIENT]);
    const ctx = recorded[0]!.spanContext();
    expect(server.requests.map((r) => r.headers.traceparent)).toEqual([
      expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/),
      `00-${ctx.traceId}-${ctx.spanId}-01`,
    ]);
    await provider.shutdown();
  });

  it("spans: 'off' makes nothing and injects nothing", async () => {
    const { mesh, exporter } = client({ spans: 'off' });
    await (await mesh.request('http://orders/off')).body.text();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(server.requests[0]!.headers.traceparent).toBeUndefined();
    await mesh.close();
  });

  it("spans: 'auto' leaves CLIENT spans to instrumentation-undici when it listens; 'client' keeps them", async () => {
    const listener = (): void => {};
    subscribe('undici:request:create', listener);
    try {
      const auto = client();
      await (await auto.mesh.request('http://orders/auto')).body.text();
      expect(auto.exporter.getFinishedSpans().map((s) => s.kind)).toEqual([SpanKind.INTERNAL]);
      expect(server.requests[0]!.headers.traceparent).toBeUndefined();
      await auto.mesh.close();

      const forced = client({ spans: 'client' });
      await (await forced.mesh.request('http://orders/client')).body.text();
      expect(forced.exporter.getFinishedSpans().map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.INTERNAL]);
      expect(server.requests[1]!.headers.traceparent).toBeDefined();
      await forced.mesh.close();
    } finally {
      unsubscribe('undici:request:create', listener);
    }
  });

  it("spans: 'auto' nests @opentelemetry/instrumentation-undici's CLIENT span under the INTERNAL span, one traceparent", async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const t = memoryTracing();
    propagation.setGlobalPropagator(t.propagator);
    const instrumentation = new UndiciInstrumentation(); // subscribes to undici's channels now
    instrumentation.setTracerProvider(t.provider);
    try {
      const mesh = new MeshClient({ services: { orders: { endpoints: [server.url] } }, telemetry: { tracerProvider: t.provider } });
      const stale = '00-11111111111111111111111111111111-2222222222222222-01';
      await (await mesh.request('http://orders/inst', { headers: { traceparent: stale } })).body.text();
      const spans = t.exporter.getFinishedSpans();
      expect(spans.map((s) => [s.kind, s.instrumentationScope.name])).toEqual([
        [SpanKind.CLIENT, '@opentelemetry/instrumentation-undici'],
        [SpanKind.INTERNAL, 'proxyless'],
      ]);
      const [undiciSpan, internal] = spans;
      expect(undiciSpan!.parentSpanContext?.spanId).toBe(internal!.spanContext().spanId);
      const ctx = undiciSpan!.spanContext();
      expect(server.requests[0]!.headers.traceparent).toBe(`00-${ctx.traceId}-${ctx.spanId}-01`);
      expect(mesh.snapshot().telemetry.clientSpans).toBe(false);
      await mesh.close();
    } finally {
      instrumentation.disable();
    }
  });

  it('uses a global SDK registered after the client was built, and records nothing before', async () => {
    const mesh = new MeshClient({ services: { orders: { endpoints: [server.url] } } });
    await (await mesh.request('http://orders/before')).body.text();
    const t = memoryTracing();
    trace.setGlobalTracerProvider(t.provider);
    propagation.setGlobalPropagator(t.propagator);
    await (await mesh.request('http://orders/after')).body.text();
    expect(t.exporter.getFinishedSpans().map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.INTERNAL]);
    expect(server.requests.map((r) => [r.url, typeof r.headers.traceparent])).toEqual([
      ['/before', 'undefined'],
      ['/after', 'string'],
    ]);
    await mesh.close();
  });
});
