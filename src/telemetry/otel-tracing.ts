import { channel } from 'node:diagnostics_channel';
import {
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { flatCopy, forEachHeader, type AnyHeaders } from '../util/headers.js';
import { debugChannel } from '../util/logger.js';
import type { HealthEvent, MetricEvent } from './events.js';
import { ATTR, MESH_ATTR, errorType, fullUrl, normalizeMethod, type Target } from './semconv.js';

/** The instrumentation scope name of proxyless's tracer and meter. */
export const INSTRUMENTATION_SCOPE = 'proxyless';

/**
 * Which spans proxyless makes:
 * - `'auto'` (default): the INTERNAL span per request always; a CLIENT span per
 *   attempt unless `@opentelemetry/instrumentation-undici` is active (it then
 *   makes the CLIENT spans and injects the trace context itself, under
 *   proxyless's INTERNAL span) or the sampler dropped the request (the INTERNAL
 *   span's context, sampled flag off, is injected instead);
 * - `'client'`: always both;
 * - `'off'`: no spans and no context injection.
 */
export type SpanMode = 'auto' | 'client' | 'off';

const debug = debugChannel('telemetry');

/** The tracer provider nobody registered: the API's no-op. */
const NOOP_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();
/** instrumentation-undici subscribes here; so does anything else that traces undici. */
const undiciRequestCreate = channel('undici:request:create');

/** Sets a header in a flat `[name, value, ...]` array, replacing every existing value. */
const flatSetter: TextMapSetter<string[]> = {
  set(carrier, key, value) {
    let found = false;
    for (let i = 0; i < carrier.length; ) {
      const name = carrier[i] as string;
      if (name.length === key.length && name.toLowerCase() === key) {
        if (found) {
          carrier.splice(i, 2);
          continue;
        }
        carrier[i + 1] = value;
        found = true;
      }
      i += 2;
    }
    if (!found) carrier.push(key, value);
  },
};

/** What {@link Tracing} needs to start. */
export interface TracingOptions {
  readonly spans: SpanMode;
  /** A provider to use instead of the global one. */
  readonly tracerProvider?: TracerProvider | undefined;
  /** A propagator to use instead of the global one. */
  readonly propagator?: TextMapPropagator | undefined;
}

/** A decision of the mesh worth a span event on the request it concerns. */
const DECISIONS: Partial<Record<string, string>> = {
  retry: 'proxyless.retry.scheduled',
  'retry-refused': 'proxyless.retry.refused',
  'retry-budget-exhausted': 'proxyless.retry.refused',
  'endpoint-ejected': 'proxyless.endpoint.ejected',
  'circuit-open': 'proxyless.circuit.open',
};

/**
 * The tracing side of a client. It looks the tracer up on every request
 * (a couple of property reads), so an SDK registered after the client was
 * built is used from then on, and with none registered no span, attribute or
 * header copy is made.
 */
export class Tracing {
  readonly mode: SpanMode;
  readonly #fixed: TracerProvider | undefined;
  readonly #propagator: TextMapPropagator | undefined;
  #provider: TracerProvider | undefined;
  #tracer: Tracer | undefined;
  #undiciSeen = false;
  /** The request whose attempt outcome is being processed right now (see {@link Tracing.decision}). */
  settling: RequestTrace | undefined;

  constructor(options: TracingOptions) {
    this.mode = options.spans;
    this.#fixed = options.tracerProvider;
    this.#propagator = options.propagator;
  }

  /** The tracer to use now, or undefined when no SDK is installed (or spans are off). */
  tracer(): Tracer | undefined {
    if (this.mode === 'off') return undefined;
    let provider = this.#fixed ?? trace.getTracerProvider();
    if (provider instanceof ProxyTracerProvider) provider = provider.getDelegate();
    if (provider === NOOP_PROVIDER) return undefined;
    if (provider !== this.#provider) {
      this.#provider = provider;
      this.#tracer = provider.getTracer(INSTRUMENTATION_SCOPE);
      debug('tracing with a %s (spans: %s)', provider.constructor.name, this.mode);
    }
    return this.#tracer;
  }

  /** True when proxyless makes CLIENT spans and injects context itself for requests starting now. */
  clientSpans(): boolean {
    if (this.mode === 'client') return true;
    const undici = undiciRequestCreate.hasSubscribers;
    if (undici !== this.#undiciSeen) {
      this.#undiciSeen = undici;
      debug(undici ? 'undici is instrumented: CLIENT spans and injection left to it' : 'undici is not instrumented: proxyless makes CLIENT spans');
    }
    return !undici;
  }

  /**
   * Starts the INTERNAL span of one logical request, as a child of the
   * caller's active context. Returns undefined (and costs nothing more) when
   * tracing is not live.
   */
  start(method: string, service: string, egress: boolean): RequestTrace | undefined {
    const tracer = this.tracer();
    if (tracer === undefined) return undefined;
    this.settling = undefined;
    const parent = context.active();
    const normalized = normalizeMethod(method);
    const attributes: Attributes = {
      [MESH_ATTR.SERVICE]: service,
      [ATTR.HTTP_REQUEST_METHOD]: normalized,
    };
    if (egress) attributes[MESH_ATTR.EGRESS] = true;
    const span = tracer.startSpan(`${normalized === '_OTHER' ? 'HTTP' : normalized} ${service}`, { kind: SpanKind.INTERNAL, attributes }, parent);
    return new RequestTrace(this, tracer, span, trace.setSpan(parent, span), service, this.clientSpans());
  }

  /**
   * Attaches a decision event (retry scheduled or refused, endpoint ejected,
   * breaker open) to the request whose attempt outcome caused it: these
   * events are raised synchronously while that outcome is processed.
   */
  decision(event: HealthEvent | MetricEvent): void {
    const name = DECISIONS[event.type];
    const target = this.settling;
    if (name === undefined || target === undefined || target.ended || target.service !== event.service) return;
    if (!target.span.isRecording()) return;
    const attributes: Attributes = {};
    for (const [key, value] of Object.entries(event)) {
      if (key === 'service' || key === 'time' || key === 'type') continue;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[`proxyless.${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`] = value;
    }
    target.span.addEvent(name, attributes);
  }

  /** A flat copy of `headers` without the propagator's fields (`traceparent`, `tracestate`, ...). */
  withoutContext(headers: AnyHeaders): string[] {
    const fields = (this.#propagator ?? propagation).fields();
    const out: string[] = [];
    forEachHeader(headers, (name, value) => {
      if (fields.includes(name.toLowerCase())) return;
      if (Array.isArray(value)) for (const v of value) out.push(name, v);
      else out.push(name, value);
    });
    return out;
  }

  /** Injects `ctx` into a flat header array through the configured (or global) propagator. */
  inject(ctx: Context, headers: string[]): void {
    try {
      if (this.#propagator) this.#propagator.inject(ctx, headers, flatSetter);
      else propagation.inject(ctx, headers, flatSetter);
    } catch (error) {
      // A broken propagator must not break the request: it goes out without context.
      debug('the propagator threw: %o', error);
    }
  }
}

/** Where an attempt goes, for its CLIENT span. */
export interface AttemptTarget {
  readonly target: Target;
  /** The endpoint URL (service traffic), for the `endpoint picked` event. */
  readonly endpoint?: string;
  /** The balancing policy that picked it. */
  readonly policy?: string;
  /** How many endpoints the balancer chose from. */
  readonly candidates?: number;
}

/**
 * The trace of one logical request: its INTERNAL span and the hooks
 * {@link MeshRequest} calls (attempt start, request end).
 */
export class RequestTrace {
  readonly #tracing: Tracing;
  readonly #tracer: Tracer;
  readonly span: Span;
  readonly context: Context;
  readonly service: string;
  readonly #clientSpans: boolean;
  ended = false;

  constructor(tracing: Tracing, tracer: Tracer, span: Span, ctx: Context, service: string, clientSpans: boolean) {
    this.#tracing = tracing;
    this.#tracer = tracer;
    this.span = span;
    this.context = ctx;
    this.service = service;
    this.#clientSpans = clientSpans;
  }

  /**
   * An attempt is about to be sent: records the pick, starts its CLIENT span
   * and returns the headers to send (a copy carrying `traceparent`, any
   * existing value replaced).
   */
  attempt(index: number, to: AttemptTarget, method: string, path: string, headers: AnyHeaders): AttemptTrace {
    this.#tracing.settling = undefined;
    const recording = this.span.isRecording();
    if (recording && to.endpoint !== undefined) {
      this.span.addEvent('proxyless.endpoint.picked', {
        [MESH_ATTR.ENDPOINT]: to.endpoint,
        [MESH_ATTR.POLICY]: to.policy ?? '',
        [MESH_ATTR.CANDIDATES]: to.candidates ?? 0,
        [MESH_ATTR.ATTEMPT]: index,
      });
    }
    if (!this.#clientSpans) {
      // The undici instrumentation appends its own context: drop any the caller set, so there is one.
      return new AttemptTrace(this, undefined, this.context, this.#tracing.withoutContext(headers));
    }
    if (!recording && this.#tracing.mode === 'auto') {
      // The sampler dropped this request. Every sampler the SDKs ship gives a child its parent's decision
      // (parent-based ones by rule, a trace-id ratio by the same trace id, always-on/off trivially), so a CLIENT
      // span here would be dropped too: skip it and propagate the request's own context, sampled flag off, which
      // tells the server and everything downstream the same. `spans: 'client'` keeps the CLIENT span for a
      // custom sampler that may record it anyway.
      const out = flatCopy(headers);
      this.#tracing.inject(this.context, out);
      return new AttemptTrace(this, undefined, this.context, out);
    }
    const t = to.target;
    const normalized = normalizeMethod(method);
    let attributes: Attributes | undefined;
    if (recording) {
      attributes = {
        [ATTR.HTTP_REQUEST_METHOD]: normalized,
        [ATTR.SERVER_ADDRESS]: t.address,
        [ATTR.SERVER_PORT]: t.port,
        [ATTR.URL_FULL]: fullUrl(t.origin, path),
      };
      if (normalized === '_OTHER') attributes[ATTR.HTTP_REQUEST_METHOD_ORIGINAL] = method;
      if (t.ip) {
        attributes[ATTR.NETWORK_PEER_ADDRESS] = t.address;
        attributes[ATTR.NETWORK_PEER_PORT] = t.port;
      }
      if (index > 0) attributes[ATTR.HTTP_REQUEST_RESEND_COUNT] = index;
    }
    const span = this.#tracer.startSpan(normalized === '_OTHER' ? 'HTTP' : normalized, { kind: SpanKind.CLIENT, attributes }, this.context);
    const ctx = trace.setSpan(this.context, span);
    const out = flatCopy(headers);
    this.#tracing.inject(ctx, out);
    return new AttemptTrace(this, span, ctx, out);
  }

  /** Marks this request as the one whose attempt outcome is being processed (see {@link Tracing.decision}). */
  settling(): void {
    this.#tracing.settling = this;
  }

  /**
   * Records the routing decision: `proxyless.route` (the matched route's name,
   * `default` when none matched) and `proxyless.destination` (`service`,
   * `service[subset]` or another service).
   */
  route(route: string | undefined, destination: string | undefined): void {
    if (!this.span.isRecording()) return;
    this.span.setAttribute(MESH_ATTR.ROUTE, route ?? 'default');
    if (destination !== undefined) this.span.setAttribute(MESH_ATTR.DESTINATION, destination);
  }

  /** Sets an attribute on the INTERNAL span (e.g. `proxyless.route` once a route matched). */
  set(key: string, value: string | number | boolean): void {
    if (this.span.isRecording()) this.span.setAttribute(key, value);
  }

  /** Adds a span event on the INTERNAL span. */
  event(name: string, attributes?: Attributes): void {
    if (this.span.isRecording()) this.span.addEvent(name, attributes);
  }

  /**
   * The request finished: `status` is the committed response's, `error` the
   * failure. A caller's cancel (`cancelled`) is not an error: the span gets
   * `proxyless.outcome` `cancelled`, no `error.type` and no Error status.
   */
  end(status: number | undefined, error: Error | undefined, attempts: number, cancelled: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (this.#tracing.settling === this) this.#tracing.settling = undefined;
    const span = this.span;
    if (span.isRecording()) {
      span.setAttribute(MESH_ATTR.ATTEMPTS, attempts);
      if (status !== undefined) span.setAttribute(ATTR.HTTP_RESPONSE_STATUS_CODE, status);
      if (cancelled) {
        span.setAttribute(MESH_ATTR.OUTCOME, 'cancelled');
        span.end();
        return;
      }
      const type = error !== undefined ? errorType(undefined, error) : status !== undefined && status >= 500 ? String(status) : undefined;
      if (type !== undefined) span.setAttribute(ATTR.ERROR_TYPE, type);
      if (type !== undefined) {
        span.setStatus(error ? { code: SpanStatusCode.ERROR, message: error.message } : { code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  }
}

/** The trace of one attempt: its CLIENT span (if proxyless makes one) and the headers to send. */
export class AttemptTrace {
  readonly #request: RequestTrace;
  readonly span: Span | undefined;
  readonly #context: Context;
  /** The headers to send with this attempt. */
  readonly headers: AnyHeaders;
  #ended = false;

  constructor(request: RequestTrace, span: Span | undefined, ctx: Context, headers: AnyHeaders) {
    this.#request = request;
    this.span = span;
    this.#context = ctx;
    this.headers = headers;
  }

  /** Dispatches the attempt with its span active, so a lower instrumentation (undici's) nests under it. */
  dispatch(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return context.with(this.#context, dispatcher.dispatch, dispatcher, opts, handler);
  }

  /**
   * The attempt settled: response headers (`status`) or a failure (`error`).
   * `aborted` marks an attempt cancelled by the caller (or discarded): no
   * Error status. Also marks the request as settling, for decision events.
   */
  end(status: number | undefined, error: Error | undefined, aborted: boolean): void {
    this.#request.settling();
    if (this.#ended) return;
    this.#ended = true;
    const span = this.span;
    if (span === undefined) return;
    if (span.isRecording()) {
      if (status !== undefined) {
        span.setAttribute(ATTR.HTTP_RESPONSE_STATUS_CODE, status);
        span.setAttribute(ATTR.NETWORK_PROTOCOL_VERSION, '1.1');
      }
      const type = errorType(status, error);
      if (type !== undefined) span.setAttribute(ATTR.ERROR_TYPE, type);
      if (!aborted && type !== undefined) {
        if (error !== undefined) {
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        } else span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  }
}
