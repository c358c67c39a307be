import type { MeterProvider, TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import type { ConfigIssue } from '../errors/mesh-error.js';
import { defaultsOf } from '../util/schema-defaults.js';
import { schemaIssues } from '../util/schema-issues.js';
import type { SpanMode } from './otel-tracing.js';
import { TELEMETRY_SCHEMA } from './schema.js';

/**
 * The `telemetry` client option. proxyless uses only `@opentelemetry/api`:
 * with no SDK installed nothing is recorded. Providers are looked up from the
 * global API on every request unless given here, so an SDK registered after
 * the client was built is picked up.
 */
export interface TelemetryOptions {
  /**
   * Which spans to make. Default `'auto'`: an INTERNAL span per logical
   * request, and a CLIENT span per attempt unless
   * `@opentelemetry/instrumentation-undici` is active (detected by a
   * subscriber on the `undici:request:create` diagnostics channel), which then
   * makes them itself, or the sampler dropped the request (its INTERNAL span is
   * not recording: every sampler the SDKs ship would drop the CLIENT span too;
   * the attempt carries the INTERNAL span's context, sampled flag off).
   * `'client'`: always both, for a sampler that may record a CLIENT span under
   * a dropped parent. `'off'`: no spans and no trace context injection.
   */
  spans?: SpanMode;
  /** Record metrics (when a meter provider is installed). Default true. */
  metrics?: boolean;
  /** Also report the opt-in `http.client.active_requests` per endpoint. Default false. */
  activeRequests?: boolean;
  /** Use this tracer provider instead of the global one. Never registered globally. */
  tracerProvider?: TracerProvider;
  /** Use this meter provider instead of the global one. Never registered globally. */
  meterProvider?: MeterProvider;
  /** Use this propagator instead of the global one (`propagation.inject`). */
  propagator?: TextMapPropagator;
}

/** {@link TelemetryOptions} with defaults applied. */
export interface ResolvedTelemetry {
  readonly spans: SpanMode;
  readonly metrics: boolean;
  readonly activeRequests: boolean;
  readonly tracerProvider: TracerProvider | undefined;
  readonly meterProvider: MeterProvider | undefined;
  readonly propagator: TextMapPropagator | undefined;
}

const FILL = defaultsOf(TELEMETRY_SCHEMA) as { spans: SpanMode; metrics: boolean; activeRequests: boolean };

// The schema and the documented interface name the same members.
type SchemaKeys = keyof typeof TELEMETRY_SCHEMA.properties;
const SAME_KEYS: [Exclude<SchemaKeys, keyof TelemetryOptions>, Exclude<keyof TelemetryOptions, SchemaKeys>] extends [never, never] ? true : never = true;
void SAME_KEYS;

/**
 * Checks the `telemetry` option against its schema (src/telemetry/schema.ts)
 * and fills in its defaults, adding problems to `issues` (paths under
 * `telemetry`).
 */
export function checkTelemetry(value: unknown, issues: ConfigIssue[]): ResolvedTelemetry {
  const problems = value === undefined ? [] : schemaIssues(value, TELEMETRY_SCHEMA, 'telemetry');
  issues.push(...problems);
  const t = problems.length === 0 && value !== undefined ? (value as TelemetryOptions) : {};
  return Object.freeze({
    spans: t.spans ?? FILL.spans,
    metrics: t.metrics ?? FILL.metrics,
    activeRequests: t.activeRequests ?? FILL.activeRequests,
    tracerProvider: t.tracerProvider,
    meterProvider: t.meterProvider,
    propagator: t.propagator,
  });
}
