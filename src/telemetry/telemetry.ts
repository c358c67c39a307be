import type { EventSink } from './event-bus.js';
import type { ConfigEvent, HealthEvent, MetricEvent } from './events.js';
import type { ResolvedTelemetry } from './options.js';
import { Metrics, type ObservedState } from './otel-metrics.js';
import { Tracing } from './otel-tracing.js';

/** The `telemetry` part of `mesh.snapshot()`. */
export interface TelemetrySnapshot {
  /** The configured span mode. */
  spans: 'auto' | 'client' | 'off';
  /** True when a tracer provider (an SDK) is in use right now. */
  tracing: boolean;
  /** True when CLIENT spans are made by proxyless (false when instrumentation-undici makes them, or spans are off). */
  clientSpans: boolean;
  /** True when a meter provider (an SDK) is in use right now. */
  metrics: boolean;
}

/**
 * The OpenTelemetry bridge of one client: {@link Tracing} (called by the
 * request path through narrow hooks) and {@link Metrics} (fed by the event
 * bus, as its sink). Never registers anything globally.
 */
export class Telemetry implements EventSink {
  readonly tracing: Tracing;
  readonly metrics: Metrics;

  constructor(options: ResolvedTelemetry, read: () => ObservedState) {
    this.tracing = new Tracing({ spans: options.spans, tracerProvider: options.tracerProvider, propagator: options.propagator });
    this.metrics = new Metrics({
      enabled: options.metrics,
      activeRequests: options.activeRequests,
      meterProvider: options.meterProvider,
      read,
    });
  }

  /** True when a meter or a tracer is installed: only then are events built for us. */
  get active(): boolean {
    return this.metrics.active || this.tracing.tracer() !== undefined;
  }

  health(event: HealthEvent): void {
    this.metrics.health(event);
    this.tracing.decision(event);
  }

  metric(event: MetricEvent): void {
    this.metrics.metric(event);
    this.tracing.decision(event);
  }

  config(event: ConfigEvent): void {
    this.metrics.config(event);
  }

  /** What telemetry does right now, for `mesh.snapshot()`. */
  describe(): TelemetrySnapshot {
    const tracing = this.tracing.tracer() !== undefined;
    return {
      spans: this.tracing.mode,
      tracing,
      clientSpans: tracing && this.tracing.clientSpans(),
      metrics: this.metrics.active,
    };
  }

  close(): void {
    this.metrics.close();
  }
}
