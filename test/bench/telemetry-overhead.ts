// Measures what telemetry costs on the request path: raw undici, the mesh with no
// OpenTelemetry SDK, and the mesh with an SDK tracing and/or measuring everything.
// Run: npm run bench -- telemetry   (or --smoke for a seconds-long check)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Pool } from 'undici';
import { MeshClient } from '../../src/index.js';
import { checkTelemetry } from '../../src/telemetry/options.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { TestReader } from '../helpers/otel.js';
import type { BenchOptions, BenchReport } from './run.js';

const CONCURRENCY = 32;

/** Throughput of raw undici vs the mesh without and with an OpenTelemetry SDK, and the idle hook cost. */
export default async function telemetryOverhead({ smoke }: BenchOptions): Promise<BenchReport> {
  const N = smoke ? 500 : 20_000;
  const ROUNDS = smoke ? 1 : 3;
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  type Send = () => Promise<void>;

  async function run(send: Send): Promise<number> {
    let left = N;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) await send();
      }),
    );
    return N / ((performance.now() - started) / 1000);
  }

  const pool = new Pool(url, { connections: 64 });
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const meterProvider = new MeterProvider({ readers: [new TestReader()] });
  const services = { bench: { endpoints: [url] } };
  const meshes = {
    'mesh, no SDK': new MeshClient({ services }),
    'mesh, SDK metrics': new MeshClient({ services, telemetry: { meterProvider } }),
    'mesh, SDK traces + metrics': new MeshClient({ services, telemetry: { tracerProvider, meterProvider } }),
  };
  const scenarios: Record<string, Send> = {
    'raw undici Pool': async () => {
      const r = await pool.request({ method: 'GET', path: '/' });
      await r.body.dump();
    },
  };
  for (const [name, mesh] of Object.entries(meshes)) {
    scenarios[name] = async () => {
      const r = await mesh.request('http://bench/');
      await r.body.dump();
      exporter.reset();
    };
  }

  const results = new Map<string, number[]>();
  for (const send of Object.values(scenarios)) await run(send); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, send] of Object.entries(scenarios)) {
      const rps = await run(send);
      results.set(name, [...(results.get(name) ?? []), rps]);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const raw = median(results.get('raw undici Pool')!);
  const rows: string[][] = [];
  for (const [name, xs] of results) {
    const m = median(xs);
    rows.push([name, m.toFixed(0), `${(m / raw).toFixed(2)}x`]);
  }

  // The hooks alone, no SDK: what one request pays (start + wantsMetrics at settle and at report).
  const idle = new Telemetry(checkTelemetry(undefined, []), () => ({ observerErrors: 0, services: {} }));
  let live = 0;
  const M = smoke ? 100_000 : 2_000_000;
  const t0 = performance.now();
  for (let i = 0; i < M; i++) {
    if (idle.tracing.start('GET', 'bench', false) !== undefined) live++;
    if (idle.active) live++;
    if (idle.active) live++;
  }
  const hookNs = ((performance.now() - t0) * 1e6) / M;

  for (const mesh of Object.values(meshes)) await mesh.close();
  await pool.close();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  server.close();
  return {
    title: 'Telemetry overhead',
    tables: [
      {
        title: `${N} requests x ${ROUNDS} rounds, concurrency ${CONCURRENCY}, median`,
        header: ['variant', 'req/s', 'vs raw'],
        rows,
      },
      {
        title: 'Telemetry hooks without an SDK',
        header: ['ns per request', 'live (must be 0)'],
        rows: [[hookNs.toFixed(0), String(live)]],
      },
    ],
  };
}
