/**
 * The builds of proxyless measured and the client variants, declared in one place.
 *
 * The suite measures the package as users run it: `dist/` (tsc output), rebuilt first when a file in `src/` is
 * newer (tsx's keepNames wraps every named closure in a `__name()` call, which the request path would pay per
 * request). Under vitest, which checks the harness and must not write `dist/` while other test files read it,
 * and with `PROXYLESS_BENCH_SOURCE=src`, it loads `src/`. `--baseline <dir>` loads a second build (a built
 * checkout, its `dist/`, or a directory holding `index.js` or `index.ts`) for the `baseline-*` variants.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { Pool, request as undiciRequest } from 'undici';
import type * as Proxyless from '../../src/index.js';
import type { Runner } from './drivers.js';

export type Build = typeof Proxyless;

export const ROOT = resolve(import.meta.dirname, '../..');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }
  return t;
}

/** The entry module of a build directory: `dist/index.js`, `index.js` or `index.ts` under it. */
export function buildEntry(dir: string): string {
  const found = ['dist/index.js', 'index.js', 'index.ts'].map((f) => join(resolve(dir), f)).find((f) => existsSync(f));
  if (!found) throw new Error(`--baseline ${dir}: no dist/index.js, index.js or index.ts there (build that checkout first)`);
  return found;
}

/** Loads this checkout's build (see the file comment), or the one at `dir`. */
export async function loadBuild(dir?: string): Promise<{ build: Build; source: string }> {
  if (dir !== undefined) return { build: (await import(pathToFileURL(buildEntry(dir)).href)) as Build, source: resolve(dir) };
  const asked = process.env.PROXYLESS_BENCH_SOURCE ?? (process.env.VITEST ? 'src' : 'dist');
  if (asked === 'src') return { build: await import('../../src/index.js'), source: 'src' };
  const entry = join(ROOT, 'dist/index.js');
  if (!existsSync(entry) || statSync(entry).mtimeMs < newest(join(ROOT, 'src'))) {
    process.stderr.write('[bench] dist/ is missing or older than src/: npm run build\n');
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (built.status !== 0) throw new Error('npm run build failed; the bench measures dist/');
  }
  return { build: (await import(pathToFileURL(entry).href)) as Build, source: 'dist' };
}

/** What a variant builds on: the endpoints, the hops in front of them, and the builds of proxyless. */
export interface Context {
  origins: readonly string[];
  connections: number;
  hops: Partial<Record<'haproxy' | 'nginx', string>>;
  build: Build;
  baseline?: Build;
}

/** A client variant; `build` returns why it cannot run instead of failing the run. */
export interface Variant {
  id: string;
  label: string;
  build(ctx: Context): Promise<Runner | string>;
}

/** The full default stack, spelled out: retry with its budget, per-try and total timeouts, breakers, outlier detection. */
export const FULL_STACK = {
  retry: { attempts: 3, retryOn: ['connect-failure', 'reset', 'gateway-error'] },
  timeout: { perTryMs: 1000, totalMs: 3000 },
  circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
  outlierDetection: { consecutive5xx: 5 },
};

/** A MeshClient of `build` over the context's endpoints (one service, round robin), running the full stack. */
export function fullStack(build: Build, ctx: Context, client: Record<string, unknown> = {}): Runner {
  const mesh = new build.MeshClient({
    ...client,
    services: {
      target: { endpoints: [...ctx.origins], loadBalancer: 'round-robin', connection: { maxConnections: ctx.connections, pipelining: 1 }, ...FULL_STACK },
    },
  } as Proxyless.MeshClientOptions);
  return {
    async send() {
      const { statusCode, body } = await mesh.request('http://target/');
      await body.arrayBuffer();
      return statusCode;
    },
    close: () => mesh.close(),
  };
}

/** A Pool per origin and a hand-written round robin: `undici.request(url, { dispatcher })`, or each Pool's own `request`. */
function roundRobin(origins: readonly string[], connections: number, viaPool: boolean): Runner {
  const pools = origins.map((o) => new Pool(o, { connections, pipelining: 1, keepAliveTimeout: 60_000 }));
  const urls = origins.map((o) => `${o}/`);
  const call = viaPool
    ? (i: number) => pools[i]!.request({ origin: origins[i]!, path: '/', method: 'GET' })
    : (i: number) => undiciRequest(urls[i]!, { dispatcher: pools[i] });
  let next = 0;
  return {
    async send() {
      const i = next;
      next = i + 1 === pools.length ? 0 : i + 1;
      const { statusCode, body } = await call(i);
      await body.arrayBuffer();
      return statusCode;
    },
    close: async () => void (await Promise.all(pools.map((p) => p.close()))),
  };
}

/** Counts exported spans and keeps none (an in-memory exporter's growing array would make GC the cost measured). */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    done({ code: 0 });
  }
  shutdown = () => Promise.resolve();
}

/**
 * An OpenTelemetry SDK as production runs it: every metric recorded (read every second into memory), a batch span
 * processor, and a ParentBased(TraceIdRatioBased(0.01)) sampler tracing 1% of new traces.
 */
function sdk() {
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new DroppingExporter(), { maxQueueSize: 65_536, maxExportBatchSize: 512, scheduledDelayMillis: 200 })],
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.01) }),
  });
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 1000 })] });
  const shutdown = async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  };
  return { tracerProvider, meterProvider, reset: () => metrics.reset(), shutdown };
}

function withSdk(runner: Runner, otel: ReturnType<typeof sdk>, extra: Partial<Runner> = {}): Runner {
  return { ...runner, ...extra, reset: otel.reset, close: async () => (await runner.close(), await otel.shutdown()) };
}

function hop(name: 'haproxy' | 'nginx', label: string): Variant {
  return {
    id: name,
    label,
    build: async (ctx) => {
      const origin = ctx.hops[name];
      return origin ? roundRobin([origin], ctx.connections * ctx.origins.length, false) : `${name} not running`;
    },
  };
}

/** The reference every "ratio to raw" is taken against. */
export const REFERENCE = 'undici-request';

/** Every variant, in table order. */
export const VARIANTS: readonly Variant[] = [
  { id: REFERENCE, label: 'undici.request (raw)', build: async (ctx) => roundRobin(ctx.origins, ctx.connections, false) },
  { id: 'pool-rr', label: 'Pool.request, hand-written round robin', build: async (ctx) => roundRobin(ctx.origins, ctx.connections, true) },
  { id: 'mesh-full', label: 'MeshClient.request (full stack)', build: async (ctx) => fullStack(ctx.build, ctx) },
  {
    id: 'mesh-full-otel',
    label: 'MeshClient.request (full stack + OTel, 1% of traces)',
    build: async (ctx) => {
      const otel = sdk();
      return withSdk(fullStack(ctx.build, ctx, { telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider } }), otel);
    },
  },
  {
    id: 'undici-request-otel',
    label: 'undici.request + OTel (instrumentation-undici, 1% of traces)',
    build: async (ctx) => {
      const otel = sdk();
      // Built enabled (built disabled it never records), then on only during its own windows: it is process-wide.
      const instrumentation = new UndiciInstrumentation();
      instrumentation.disable();
      instrumentation.setTracerProvider(otel.tracerProvider);
      instrumentation.setMeterProvider(otel.meterProvider);
      const activate = () => instrumentation.enable();
      const deactivate = () => instrumentation.disable();
      return withSdk(roundRobin(ctx.origins, ctx.connections, false), otel, { activate, deactivate });
    },
  },
  hop('haproxy', 'HAProxy hop'),
  hop('nginx', 'nginx hop'),
  {
    id: 'baseline-full',
    label: 'baseline MeshClient.request (full stack)',
    build: async (ctx) => (ctx.baseline ? fullStack(ctx.baseline, ctx) : 'no --baseline given'),
  },
];

/**
 * Builds `id` over `ctx`; a string says why it could not (a hop not running, an option the baseline build
 * rejects). This checkout's variants must build: their failure fails the run.
 */
export async function buildVariant(id: string, ctx: Context): Promise<Runner | string> {
  const variant = VARIANTS.find((v) => v.id === id);
  if (!variant) throw new Error(`unknown variant ${id} (${VARIANTS.map((v) => v.id).join(', ')})`);
  try {
    return await variant.build(ctx);
  } catch (error) {
    if (!id.startsWith('baseline')) throw error;
    return `n/a: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
}
