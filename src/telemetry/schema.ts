import type { MeterProvider, TextMapPropagator, TracerProvider } from '@opentelemetry/api';
import { Type, type TSchema } from '@sinclair/typebox';
import { bool, code, oneOf, opt } from '../util/schema-blocks.js';

/** An object with a method named `method` (a provider or propagator of the user's SDK), typed `T`. */
function withMethod<T>(method: string, description: string): TSchema & { static: T } {
  return Type.Unsafe<T>(Type.Object({ [method]: code<(...args: never[]) => unknown>('function', `Its ${method}() method.`) }, { description, expects: `an object with a ${method}() method` }));
}

/**
 * The `telemetry` client option (code only: it is not part of a
 * configuration file). {@link TelemetryOptions} carries the documentation of
 * each member; its defaults are the helpers' last arguments here.
 */
export const TELEMETRY_SCHEMA = Type.Object(
  {
    /** Which spans to make. Default 'auto'. */
    spans: opt(oneOf("'auto', 'client' or 'off'.", ['auto', 'client', 'off'], 'auto')),
    /** Record metrics (when a meter provider is installed). Default true. */
    metrics: opt(bool('Record metrics when a meter provider is installed.', true)),
    /** Also report the opt-in `http.client.active_requests` per endpoint. Default false. */
    activeRequests: opt(bool('Also report http.client.active_requests.', false)),
    /** A tracer provider to use instead of the global one. */
    tracerProvider: opt(withMethod<TracerProvider>('getTracer', 'A tracer provider instead of the global one.')),
    /** A meter provider to use instead of the global one. */
    meterProvider: opt(withMethod<MeterProvider>('getMeter', 'A meter provider instead of the global one.')),
    /** A propagator to use instead of the global one. */
    propagator: opt(withMethod<TextMapPropagator>('inject', 'A propagator instead of the global one.')),
  },
  { description: 'OpenTelemetry tracing and metrics.', additionalProperties: false },
);
