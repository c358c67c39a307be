import type { MeterProvider, TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import { checkEnum, checkObject, join } from '../util/checks.js';
import { describe } from '../util/describe.js';
import type { ConfigIssue } from '../errors/mesh-error.js';
import type { SpanMode } from './otel-tracing.js';

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

const KEYS = ['spans', 'metrics', 'activeRequests', 'tracerProvider', 'meterProvider', 'propagator'] as const;

/** Validates the `telemetry` option, adding problems to `issues`. */
export function checkTelemetry(value: unknown, issues: ConfigIssue[]): ResolvedTelemetry {
  const t = value === undefined ? {} : (checkObject(value, 'telemetry', issues, KEYS) ?? {});
  const bool = (key: 'metrics' | 'activeRequests', fallback: boolean): boolean => {
    const v = t[key];
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    issues.push({ path: join('telemetry', key), message: `expected true or false, found ${describe(v)}` });
    return fallback;
  };
  const withMethod = <T>(key: 'tracerProvider' | 'meterProvider' | 'propagator', method: string): T | undefined => {
    const v = t[key];
    if (v === undefined) return undefined;
    if (typeof v === 'object' && v !== null && typeof (v as Record<string, unknown>)[method] === 'function') return v as T;
    issues.push({ path: join('telemetry', key), message: `expected an object with a ${method}() method, found ${describe(v)}` });
    return undefined;
  };
  return Object.freeze({
    spans: checkEnum(t.spans, 'telemetry.spans', issues, ['auto', 'client', 'off'], 'auto'),
    metrics: bool('metrics', true),
    activeRequests: bool('activeRequests', false),
    tracerProvider: withMethod<TracerProvider>('tracerProvider', 'getTracer'),
    meterProvider: withMethod<MeterProvider>('meterProvider', 'getMeter'),
    propagator: withMethod<TextMapPropagator>('propagator', 'inject'),
  });
}
