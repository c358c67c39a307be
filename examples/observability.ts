// Observability: OpenTelemetry traces (printed to the console) and metrics
// (exported in the Prometheus format and scraped once), plus mesh events and
// the snapshot. Everything runs on loopback and exits by itself.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { request } from 'undici';
import { MeshClient } from 'proxyless';

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

// Two endpoints of the service "orders"; the second one answers 503 to /flaky.
const seen: string[] = [];
const endpoints = await Promise.all(
  [0, 1].map((i) =>
    listen((req, res) => {
      seen.push(`${req.url} traceparent=${req.headers.traceparent}`);
      res.statusCode = i === 1 && req.url === '/flaky' ? 503 : 200;
      res.end(`endpoint ${i}`);
    }),
  ),
);

// The user's SDK. proxyless only uses @opentelemetry/api; these providers are handed to the
// client directly (registering them globally with trace/metrics.setGlobal... works too).
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
const prometheus = new PrometheusExporter({ preventServerStart: true });
const meterProvider = new MeterProvider({ readers: [prometheus] });
const metricsServer = await listen((req, res) => prometheus.getMetricsRequestHandler(req, res));

const mesh = new MeshClient({
  services: { orders: { endpoints: endpoints.map((e) => e.url) } },
  telemetry: { tracerProvider, meterProvider, propagator: new W3CTraceContextPropagator() },
});
mesh.on('metric', (e) => {
  if (e.type === 'request') console.log(`event: request ${e.service} status=${e.status} attempts=${e.attempts} ${e.durationMs.toFixed(1)} ms`);
});

for (const path of ['/orders/42', '/flaky', '/flaky']) {
  const res = await mesh.request(`http://orders${path}`);
  await res.body.dump();
}

// A request the sampler drops (production samplers drop most: a 1% ratio drops 99 in 100). No span is
// recorded, proxyless makes no CLIENT span for it, and the endpoint still gets the trace context with the
// sampled flag off (`-00`), so everything downstream follows the decision.
const dropping = new BasicTracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
const unsampled = new MeshClient({
  services: { orders: { endpoints: [endpoints[0]!.url] } },
  telemetry: { tracerProvider: dropping, propagator: new W3CTraceContextPropagator() },
});
await (await unsampled.request('http://orders/unsampled')).body.dump();
await unsampled.close();
await dropping.shutdown();
const last = seen[seen.length - 1] ?? '';
if (!/^\/unsampled traceparent=00-[0-9a-f]{32}-[0-9a-f]{16}-00$/.test(last)) throw new Error(`unexpected: ${last}`);

console.log('\nwhat the endpoints received:');
for (const line of seen) console.log(`  ${line}`);

const scrape = await request(`${metricsServer.url}/metrics`);
const text = await scrape.body.text();
console.log('\nPrometheus scrape (a few lines):');
for (const line of text.split('\n')) {
  if (/^(proxyless_requests_total|http_client_request_duration_count|proxyless_endpoints_usable)\{/.test(line)) console.log(`  ${line}`);
}

const snap = mesh.snapshot();
console.log('\nsnapshot:', JSON.stringify({ version: snap.version, telemetry: snap.telemetry, usable: snap.services.orders?.usableEndpoints }));

await mesh.close();
await tracerProvider.shutdown();
await meterProvider.shutdown();
for (const s of [...endpoints, metricsServer]) s.server.close();
