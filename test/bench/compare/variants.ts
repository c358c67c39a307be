/**
 * Every client variant of the side-by-side benchmark, declared in ONE place.
 *
 * A variant builds a {@link Runner} that sends one request and reads its
 * body. Mesh variants build their MeshClient from a config; when the config
 * names an option this build of proxyless does not have yet, `new MeshClient`
 * throws MeshConfigError and the variant is reported as
 * "n/a (not built yet)" instead of failing the run. So variants for features
 * being built elsewhere (resilience, OpenTelemetry) are declared here already
 * and switch themselves on when the options exist.
 */
import { setMaxListeners } from 'node:events';
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { Pool, fetch as undiciFetch, request as undiciRequest, type Dispatcher } from 'undici';
import { MeshClient, MeshConfigError, type MeshClientOptions } from './proxyless.js';

/** Sends one request, reads the whole body, resolves with the status code. */
export interface Runner {
  send(): Promise<number>;
  /** Called between rounds (e.g. drop recorded spans so memory stays flat). */
  endRound?(): void;
  /**
   * Called by the drivers before and after each window: a variant that needs
   * something process-wide (an instrumentation subscribed to undici's
   * diagnostics channels) has it only during its own windows, so it never
   * touches another variant's requests.
   */
  activate?(): void;
  deactivate?(): void;
  /** Telemetry variants: the spans the SDK has exported so far (after a flush), proof that it recorded. */
  recordedSpans?(): Promise<number>;
  close(): Promise<void>;
}

/** What a variant may use: the endpoints of one target profile, and the proxies in front of them. */
export interface VariantContext {
  /** Target endpoint origins, e.g. `http://127.0.0.1:41234`. */
  readonly origins: readonly string[];
  /** The path every request asks for. */
  readonly path: string;
  /** Connections per endpoint (the same for every variant; proxies get this × endpoints). */
  readonly connections: number;
  /** A proxy's origin in front of the same endpoints, by proxy name; or why it is missing. */
  readonly proxies: Readonly<Record<'haproxy' | 'nginx', string | { unavailable: string }>>;
  /**
   * In-process scenario: the dispatcher standing in for each endpoint's
   * connection pool (raw variants use it directly, mesh variants through
   * the client option `transport`). Absent: real sockets.
   */
  readonly transport?: (origin: string) => Dispatcher;
}

/** Why a variant could not be built. */
export interface Unavailable {
  readonly unavailable: string;
}

/** One client variant. */
export interface Variant {
  /** Stable id used in results JSON and `--variants`. */
  readonly id: string;
  /** Label in tables and the chart. */
  readonly label: string;
  /** Short description for the docs. */
  readonly description: string;
  build(ctx: VariantContext): Promise<Runner | Unavailable>;
}

/** The reference every ratio is computed against. */
export const REFERENCE_ID = 'undici-request';

/** Policy blocks turned off for "balancing only" (dropped when this build does not know them). */
const POLICIES_OFF: Record<string, unknown> = {
  retry: false,
  timeout: false,
  circuitBreaker: false,
  outlierDetection: false,
  hedge: false,
  bulkhead: false,
};

/**
 * The full default stack, spelled out with the contract names of DESIGN.md:
 * retry (with its default budget), per-try and total timeouts, a breaker per
 * endpoint and outlier detection.
 */
const FULL_STACK: Record<string, unknown> = {
  retry: { attempts: 3, retryOn: ['connect-failure', 'reset', 'gateway-error'] },
  timeout: { perTryMs: 1000, totalMs: 3000 },
  circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
  outlierDetection: { consecutive5xx: 5 },
};

/** The context of the diagnosis tools (gc-ab.ts, latency-ab.ts): the loopback target's ports, no proxies. */
export function loopbackContext(ports: readonly number[], connections: number): VariantContext {
  return {
    origins: ports.map((p) => `http://127.0.0.1:${p}`),
    path: '/',
    connections,
    proxies: { haproxy: { unavailable: 'not here' }, nginx: { unavailable: 'not here' } },
  };
}

/** The MeshClient options of a variant: one service `target` over the context's endpoints. */
export function meshOptions(ctx: VariantContext, service: Record<string, unknown>, client: Record<string, unknown> = {}): MeshClientOptions {
  return {
    ...client,
    ...(ctx.transport ? { transport: ctx.transport } : {}),
    services: {
      target: {
        endpoints: [...ctx.origins],
        loadBalancer: 'round-robin',
        connection: { maxConnections: ctx.connections, pipelining: 1 },
        ...service,
      },
    },
  } as MeshClientOptions;
}

/** `new MeshClient(options)`, or why this build cannot (an option it does not have yet). */
export function tryMesh(options: MeshClientOptions): MeshClient | Unavailable {
  try {
    return new MeshClient(options);
  } catch (error) {
    if (error instanceof MeshConfigError) {
      const paths = error.issues.map((i) => i.path).join(', ');
      return { unavailable: `n/a (not built yet: ${paths})` };
    }
    throw error;
  }
}

/**
 * Builds a mesh with `policiesOff` merged in, dropping those of its keys this
 * build rejects as unknown (a policy that does not exist is off anyway).
 */
function meshWithOptionalOff(ctx: VariantContext): MeshClient | Unavailable {
  let off = { ...POLICIES_OFF };
  for (let tries = 0; tries < 2; tries++) {
    try {
      return new MeshClient(meshOptions(ctx, off));
    } catch (error) {
      if (!(error instanceof MeshConfigError)) throw error;
      const rejected = new Set(error.issues.map((i) => i.path.split('.')[2]).filter((k): k is string => k !== undefined));
      const unknownOnly = [...rejected].every((k) => k in POLICIES_OFF);
      if (!unknownOnly) return { unavailable: `n/a (${error.issues.map((i) => i.path).join(', ')})` };
      off = Object.fromEntries(Object.entries(off).filter(([k]) => !rejected.has(k)));
    }
  }
  return tryMesh(meshOptions(ctx, off));
}

/** A Pool per origin and a hand-written round robin over them (what the raw references use). */
function pools(ctx: Pick<VariantContext, 'transport'>, origins: readonly string[], connections: number): { urls: string[]; pools: Dispatcher[] } {
  const transport = ctx.transport;
  return {
    urls: origins.map((o) => o),
    pools: origins.map((o) => (transport ? transport(o) : new Pool(o, { connections, pipelining: 1, keepAliveTimeout: 60_000 }))),
  };
}

function meshRequestRunner(mesh: MeshClient, path: string): Runner {
  const url = `http://target${path}`;
  return {
    async send() {
      const { statusCode, body } = await mesh.request(url);
      await body.arrayBuffer();
      return statusCode;
    },
    close: () => mesh.close(),
  };
}

/**
 * Raw undici over a Pool per origin and a hand-written round robin: `undici.request(url, { dispatcher })`, or with
 * `bare` each Pool's own `request({ origin, path, method })` (no URL wrapper).
 */
function rawRequestRunner(ctx: Pick<VariantContext, 'transport'>, origins: readonly string[], path: string, connections: number, bare = false): Runner {
  const { urls, pools: ps } = pools(ctx, origins, connections);
  const full = urls.map((u) => `${u}${path}`);
  // Chosen once, so the reference's loop has no branch of its own.
  const call = bare ? (i: number) => ps[i]!.request({ origin: urls[i]!, path, method: 'GET' }) : (i: number) => undiciRequest(full[i]!, { dispatcher: ps[i] });
  let next = 0;
  return {
    async send() {
      const i = next;
      next = i + 1 === ps.length ? 0 : i + 1;
      const { statusCode, body } = await call(i);
      await body.arrayBuffer();
      return statusCode;
    },
    close: async () => {
      await Promise.all(ps.map((p) => p.close()));
    },
  };
}

/** Optional OpenTelemetry SDK 2.x (dev dependencies): tracer and meter providers recording to memory. */
/** A span exporter that keeps the last batch and counts what it was given. */
class CountingSpanExporter {
  exported = 0;
  last: unknown[] = [];
  export(spans: unknown[], done: (result: { code: number }) => void): void {
    this.exported += spans.length;
    this.last = spans;
    done({ code: 0 });
  }
  reset(): void {
    this.last = [];
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** What an OTel variant records: traces, metrics, the share of new traces sampled, and proxyless's span mode. */
interface OtelRecording {
  traces: boolean;
  metrics: boolean;
  sampleRatio?: number;
  spans?: 'client';
}

async function otelInMemory(
  record: OtelRecording = { traces: true, metrics: true },
): Promise<{ client: Record<string, unknown>; reset(): void; recordedSpans(): Promise<number>; shutdown(): Promise<void> } | Unavailable> {
  const traceSpec = '@opentelemetry/sdk-trace-base';
  const metricsSpec = '@opentelemetry/sdk-metrics';
  let traceMod: Record<string, unknown>;
  let metricsMod: Record<string, unknown>;
  try {
    traceMod = (await import(traceSpec)) as Record<string, unknown>;
    metricsMod = (await import(metricsSpec)) as Record<string, unknown>;
  } catch {
    return { unavailable: 'n/a (OpenTelemetry SDK 2.x not installed: @opentelemetry/sdk-trace-base, @opentelemetry/sdk-metrics)' };
  }
  type Ctor = new (...args: unknown[]) => Record<string, (...a: unknown[]) => unknown>;
  // A batch processor, as production uses (SimpleSpanProcessor is for tests), over an exporter that keeps the
  // last batch and a count: recording to memory without an InMemorySpanExporter's unbounded array, whose
  // growth over a window made the garbage collector, not the mesh, the cost being measured.
  const spans = new CountingSpanExporter();
  const processor = new (traceMod.BatchSpanProcessor as Ctor)(spans, { maxQueueSize: 65_536, maxExportBatchSize: 512, scheduledDelayMillis: 200 });
  // Sampling as production often configures it (a ratio of new traces, children follow their parent); default: every trace.
  const sampler =
    record.sampleRatio === undefined
      ? undefined
      : new (traceMod.ParentBasedSampler as Ctor)({ root: new (traceMod.TraceIdRatioBasedSampler as Ctor)(record.sampleRatio) });
  const tracerProvider = new (traceMod.BasicTracerProvider as Ctor)({ spanProcessors: [processor], ...(sampler ? { sampler } : {}) });
  const temporality = (metricsMod.AggregationTemporality as Record<string, unknown>).CUMULATIVE;
  const metrics = new (metricsMod.InMemoryMetricExporter as Ctor)(temporality);
  const reader = new (metricsMod.PeriodicExportingMetricReader as Ctor)({ exporter: metrics, exportIntervalMillis: 1000 });
  const meterProvider = new (metricsMod.MeterProvider as Ctor)({ readers: [reader] });
  return {
    client: {
      telemetry: {
        ...(record.traces ? { tracerProvider, ...(record.spans ? { spans: record.spans } : {}) } : { spans: 'off' }),
        ...(record.metrics ? { meterProvider } : { metrics: false }),
      },
    },
    reset: () => {
      spans.reset();
      metrics.reset!();
    },
    recordedSpans: async () => {
      await tracerProvider.forceFlush!();
      return spans.exported;
    },
    shutdown: async () => {
      await tracerProvider.shutdown!();
      await meterProvider.shutdown!();
    },
  };
}

/** The full stack with the OpenTelemetry SDK recording traces, metrics or both. */
async function meshWithOtel(ctx: VariantContext, record: OtelRecording): Promise<Runner | Unavailable> {
  const otel = await otelInMemory(record);
  if ('unavailable' in otel) return otel;
  const mesh = tryMesh(meshOptions(ctx, FULL_STACK, otel.client));
  if ('unavailable' in mesh) {
    await otel.shutdown();
    return mesh;
  }
  const runner = meshRequestRunner(mesh, ctx.path);
  return {
    send: runner.send,
    endRound: otel.reset,
    recordedSpans: otel.recordedSpans,
    close: async () => {
      await runner.close();
      await otel.shutdown();
    },
  };
}

/**
 * Raw `undici.request` with `@opentelemetry/instrumentation-undici` and the same SDK setup as the mesh's OTel
 * variant: a CLIENT span, trace context injection and `http.client.request.duration` per request. What a user
 * pays for telemetry without the mesh, so the mesh's OTel row can be read against it.
 */
async function rawWithOtel(ctx: VariantContext, sampleRatio?: number): Promise<Runner | Unavailable> {
  // The instrumentation listens to undici's diagnostics channels, which only undici's own connections publish on.
  if (ctx.transport) return { unavailable: 'no sockets in this scenario (instrumentation-undici sees only undici’s own connections)' };
  const spec = '@opentelemetry/instrumentation-undici';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch {
    return { unavailable: `n/a (${spec} not installed)` };
  }
  const otel = await otelInMemory(sampleRatio === undefined ? undefined : { traces: true, metrics: true, sampleRatio });
  if ('unavailable' in otel) return otel;
  type Instrumentation = { setTracerProvider(p: unknown): void; setMeterProvider(p: unknown): void; enable(): void; disable(): void };
  // Constructed enabled (built with `enabled: false` it would never record, even after enable()), then
  // switched off until its own windows.
  const instrumentation = new (mod.UndiciInstrumentation as new (config: object) => Instrumentation)({});
  instrumentation.disable();
  const telemetry = otel.client.telemetry as { tracerProvider: unknown; meterProvider: unknown };
  instrumentation.setTracerProvider(telemetry.tracerProvider);
  instrumentation.setMeterProvider(telemetry.meterProvider);
  const runner = rawRequestRunner(ctx, ctx.origins, ctx.path, ctx.connections);
  return {
    send: runner.send,
    endRound: otel.reset,
    recordedSpans: otel.recordedSpans,
    activate: () => instrumentation.enable(),
    deactivate: () => instrumentation.disable(),
    close: async () => {
      instrumentation.disable();
      await runner.close();
      await otel.shutdown();
    },
  };
}

function proxyVariant(name: 'haproxy' | 'nginx', label: string): Variant {
  return {
    id: name,
    label,
    description: `undici.request through a ${name === 'haproxy' ? 'HAProxy' : 'nginx'} hop on loopback (started by the bench; one thread/worker, keep-alive, round robin over the same endpoints)`,
    async build(ctx) {
      if (ctx.transport) return { unavailable: 'no sockets in this scenario' };
      const origin = ctx.proxies[name];
      if (typeof origin !== 'string') return origin;
      return rawRequestRunner(ctx, [origin], ctx.path, ctx.connections * ctx.origins.length);
    },
  };
}

/** All variants, in table order. The first is the reference. */
export const VARIANTS: readonly Variant[] = [
  {
    id: REFERENCE_ID,
    label: 'undici.request (raw)',
    description: 'undici.request with a Pool per endpoint and a hand-written round robin: the reference (1.00)',
    build: async (ctx) => rawRequestRunner(ctx, ctx.origins, ctx.path, ctx.connections),
  },
  {
    id: 'undici-dispatcher-request',
    label: 'Pool.request (raw, no URL wrapper)',
    description:
      "the same Pools and round robin, calling each Pool's own `request({ origin, path, method })`: undici without `undici.request(url, opts)`'s URL wrapper, whose `{ ...opts, origin, path, method }` is slow on Node 20 (docs/benchmarks.md, \"Object spreads on Node 20\"); MeshClient.request skips that wrapper too",
    build: async (ctx) => rawRequestRunner(ctx, ctx.origins, ctx.path, ctx.connections, true),
  },
  {
    id: 'undici-fetch',
    label: 'undici fetch (raw)',
    description: "undici's fetch with a Pool per endpoint and a hand-written round robin",
    async build(ctx) {
      const { urls, pools: ps } = pools(ctx, ctx.origins, ctx.connections);
      const full = urls.map((u) => `${u}${ctx.path}`);
      let next = 0;
      return {
        async send() {
          const i = next;
          next = i + 1 === ps.length ? 0 : i + 1;
          const res = await undiciFetch(full[i]!, { dispatcher: ps[i] });
          await res.arrayBuffer();
          return res.status;
        },
        close: async () => {
          await Promise.all(ps.map((p) => p.close()));
        },
      };
    },
  },
  {
    id: 'mesh-request-balancing',
    label: 'MeshClient.request (balancing only)',
    description: 'MeshClient.request, round robin, every resilience policy off',
    async build(ctx) {
      const mesh = meshWithOptionalOff(ctx);
      return 'unavailable' in mesh ? mesh : meshRequestRunner(mesh, ctx.path);
    },
  },
  {
    id: 'mesh-request-full',
    label: 'MeshClient.request (full stack)',
    description: 'MeshClient.request with retry + budget, timeouts, breakers and outlier detection, telemetry off',
    async build(ctx) {
      const mesh = tryMesh(meshOptions(ctx, FULL_STACK));
      return 'unavailable' in mesh ? mesh : meshRequestRunner(mesh, ctx.path);
    },
  },
  {
    id: 'undici-request-otel',
    label: 'undici.request + OTel (instrumentation-undici)',
    description:
      'raw undici.request traced and measured by @opentelemetry/instrumentation-undici into the same SDK setup as the full stack + OTel: what telemetry costs without the mesh',
    build: (ctx) => rawWithOtel(ctx),
  },
  {
    id: 'undici-request-otel-sampled',
    label: 'undici.request + OTel (instrumentation-undici, 1% of traces)',
    description:
      'raw undici.request with instrumentation-undici into the same SDK setup and sampler as the full stack + OTel, 1% of traces: what telemetry as production runs it costs without the mesh',
    build: (ctx) => rawWithOtel(ctx, 0.01),
  },
  {
    id: 'mesh-request-full-otel',
    label: 'MeshClient.request (full stack + OTel)',
    description: 'the full stack with an OpenTelemetry SDK 2.x tracer (batch span processor, as in production) and meter provider recording to memory',
    build: (ctx) => meshWithOtel(ctx, { traces: true, metrics: true }),
  },
  {
    id: 'mesh-request-full-otel-sampled',
    label: 'MeshClient.request (full stack + OTel, 1% of traces)',
    description:
      "the full stack with telemetry on as production runs it: the same SDK setup recording every metric, and a ParentBased(TraceIdRatioBased(0.01)) sampler tracing 1% of new traces (Istio's default sampling rate; the other 99% still get non-recording spans and a propagated traceparent)",
    build: (ctx) => meshWithOtel(ctx, { traces: true, metrics: true, sampleRatio: 0.01 }),
  },
  {
    id: 'mesh-fetch',
    label: 'MeshClient.fetch (defaults)',
    description: "MeshClient.fetch with the service's default policies",
    async build(ctx) {
      const mesh = tryMesh(meshOptions(ctx, {}));
      if ('unavailable' in mesh) return mesh;
      const url = `http://target${ctx.path}`;
      return {
        async send() {
          const res = await mesh.fetch(url);
          await res.arrayBuffer();
          return res.status;
        },
        close: () => mesh.close(),
      };
    },
  },
  {
    id: 'cockatiel-fetch',
    label: 'cockatiel + undici fetch',
    description:
      'what a user would hand-write: cockatiel retry (2 attempts, exponential backoff) + consecutive breaker (5) + 1 s timeout around undici fetch, hand-written round robin',
    async build(ctx) {
      const { urls, pools: ps } = pools(ctx, ctx.origins, ctx.connections);
      const full = urls.map((u) => `${u}${ctx.path}`);
      const policy = wrap(
        retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
        circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
        timeout(1000, TimeoutStrategy.Cooperative),
      );
      // cockatiel links every call's signal to the one given to execute() (by default one shared
      // signal), so 32 concurrent calls trip Node's MaxListeners warning: give it our own, unlimited.
      const root = new AbortController().signal;
      setMaxListeners(0, root);
      let next = 0;
      return {
        send: () =>
          policy.execute(async ({ signal }) => {
            const i = next;
            next = i + 1 === ps.length ? 0 : i + 1;
            const res = await undiciFetch(full[i]!, { dispatcher: ps[i], signal });
            await res.arrayBuffer();
            if (res.status >= 500) throw new Error(`status ${res.status}`);
            return res.status;
          }, root),
        close: async () => {
          await Promise.all(ps.map((p) => p.close()));
        },
      };
    },
  },
  proxyVariant('haproxy', 'HAProxy hop'),
  proxyVariant('nginx', 'nginx hop'),
];

/**
 * Balancing plus one policy of the full stack (`mesh-request-only-retry`, ...): which policy a difference
 * between the balancing and the full-stack rows comes from.
 */
function onePolicyVariant(policy: keyof typeof FULL_STACK & string): Variant {
  return {
    id: `mesh-request-only-${policy === 'circuitBreaker' ? 'breaker' : policy === 'outlierDetection' ? 'outlier' : policy}`,
    label: `MeshClient.request (balancing + ${policy})`,
    description: `MeshClient.request with every policy off but the full stack's ${policy}`,
    async build(ctx) {
      const mesh = tryMesh(meshOptions(ctx, { ...POLICIES_OFF, [policy]: FULL_STACK[policy] }));
      return 'unavailable' in mesh ? mesh : meshRequestRunner(mesh, ctx.path);
    },
  };
}

/**
 * Variants for diagnosis with `cpu.ts`, `alloc.ts`, `latency-ab.ts` and `profile.ts` (not run by the suite): the
 * OpenTelemetry row split into its tracing and its metrics, and the full stack split into its policies.
 */
export const DIAGNOSTIC_VARIANTS: readonly Variant[] = [
  ...Object.keys(FULL_STACK).map(onePolicyVariant),
  {
    id: 'mesh-request-full-otel-traces',
    label: 'MeshClient.request (full stack + OTel traces only)',
    description: 'the full stack with an OpenTelemetry SDK tracer only (metrics off)',
    build: (ctx) => meshWithOtel(ctx, { traces: true, metrics: false }),
  },
  {
    id: 'mesh-request-full-otel-sampled-client',
    label: "MeshClient.request (full stack + OTel, 1% of traces, spans: 'client')",
    description:
      "the telemetry-on row with spans: 'client', which makes a CLIENT span for every attempt even when the sampler dropped the request (what 'auto' did before it skipped them)",
    build: (ctx) => meshWithOtel(ctx, { traces: true, metrics: true, sampleRatio: 0.01, spans: 'client' }),
  },
  {
    id: 'mesh-request-full-otel-metrics',
    label: 'MeshClient.request (full stack + OTel metrics only)',
    description: 'the full stack with an OpenTelemetry SDK meter provider only (spans off)',
    build: (ctx) => meshWithOtel(ctx, { traces: false, metrics: true }),
  },
];

/** The variant with this id, from the suite's or the diagnostic list; throws naming the known ids. */
export function findVariant(id: string): Variant {
  const found = VARIANTS.find((v) => v.id === id) ?? DIAGNOSTIC_VARIANTS.find((v) => v.id === id);
  if (!found) throw new Error(`unknown variant ${id}: ${[...VARIANTS, ...DIAGNOSTIC_VARIANTS].map((v) => v.id).join(', ')}`);
  return found;
}

/** Builds the variants `ids` over `ctx` (in that order), warming each with `warm`; throws naming one that is unavailable. */
export async function buildRunners(
  ids: readonly string[],
  ctx: VariantContext,
  warm: (runner: Runner) => Promise<unknown>,
): Promise<Map<string, Runner>> {
  const runners = new Map<string, Runner>();
  for (const id of ids) {
    const built = await findVariant(id).build(ctx);
    if ('unavailable' in built) throw new Error(`${id}: ${built.unavailable}`);
    runners.set(id, built);
    await warm(built);
  }
  return runners;
}
