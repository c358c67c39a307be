import {
  ValueType,
  createNoopMeter,
  metrics,
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Observable,
} from '@opentelemetry/api';
import { debugChannel } from '../util/logger.js';
import type { AttemptMetricEvent, ConfigEvent, HealthEvent, MetricEvent } from './events.js';
import { INSTRUMENTATION_SCOPE } from './otel-tracing.js';
import { ATTR, MESH_ATTR, errorType, normalizeMethod, targetOf } from './semconv.js';

/** The bucket boundaries the HTTP conventions advise for `http.client.request.duration`, in seconds. */
export const HTTP_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Numeric value of the `proxyless.circuit.state` gauge for each breaker state. */
export const CIRCUIT_STATE = Object.freeze({
  /** Requests flow. */
  closed: 0,
  /** Trial requests probe the endpoint. */
  'half-open': 1,
  /** Requests fail fast. */
  open: 2,
} as const);

/**
 * What the observable instruments read: `mesh.snapshot()`. Typed loosely and
 * read defensively, so fields other components add (retry budget, breaker
 * state) are picked up when present and ignored when not.
 */
export interface ObservedState {
  readonly observerErrors: number;
  readonly services: Readonly<Record<string, object>>;
}

/** The number at `path` inside `value`, or undefined. */
function numberAt(value: unknown, ...path: string[]): number | undefined {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return typeof v === 'number' ? v : undefined;
}

/** What {@link Metrics} needs. */
export interface MetricsOptions {
  readonly enabled: boolean;
  readonly activeRequests: boolean;
  readonly meterProvider?: MeterProvider | undefined;
  /** Reads the mesh state for observable instruments (called once per collection). */
  readonly read: () => ObservedState;
}

const NOOP_METER_CLASS = createNoopMeter().constructor;
/** The SDK's default cardinality limit per instrument: the attribute sets proxyless keeps per instrument. */
const CARDINALITY_LIMIT = 2000;
/** Where measurements past {@link CARDINALITY_LIMIT} go: the SDK's overflow attribute set. */
const OVERFLOW: Attributes = Object.freeze({ 'otel.metric.overflow': true });
const debug = debugChannel('telemetry');

/** One part of a {@link TupleCache} key. */
type Part = string | number | boolean | undefined;

/**
 * Values by a key of five primitives, looked up through nested Maps over the
 * parts rather than a key string built per lookup: the parts are strings the
 * request already holds (endpoint URL, method, service), so a lookup hashes
 * nothing new and allocates nothing (a template key would be built and
 * hashed on every measurement).
 *
 * @internal
 */
export class TupleCache<V> {
  readonly #root = new Map<Part, Map<Part, Map<Part, Map<Part, Map<Part, V>>>>>();
  /** Values held (for the caller's bound). */
  size = 0;

  get(a: Part, b: Part, c: Part, d: Part, e: Part): V | undefined {
    return this.#root.get(a)?.get(b)?.get(c)?.get(d)?.get(e);
  }

  /** Stores `value` under the key (on a miss only: the nested Maps are made here, never on a lookup). */
  set(a: Part, b: Part, c: Part, d: Part, e: Part, value: V): void {
    let map = this.#root as Map<Part, unknown>;
    for (const part of [a, b, c, d]) {
      let next = map.get(part) as Map<Part, unknown> | undefined;
      if (next === undefined) map.set(part, (next = new Map()));
      map = next;
    }
    if (!map.has(e)) this.size++;
    map.set(e, value);
  }

  clear(): void {
    this.#root.clear();
    this.size = 0;
  }
}

/**
 * The metrics side of a client: fed by the internal event bus (so every event
 * another component raises is counted without touching the request path),
 * plus observable gauges that read the mesh state at collection time.
 * The meter is resolved lazily and again whenever the global provider changes.
 */
export class Metrics {
  readonly #options: MetricsOptions;
  #provider: MeterProvider | undefined;
  #instruments: Instruments | null = null;
  #closed = false;
  /** Circuit state per service then endpoint (`''` for a service-wide breaker), from events. */
  readonly circuits = new Map<string, Map<string, number>>();

  constructor(options: MetricsOptions) {
    this.#options = options;
  }

  /** True when a real meter is installed (read on the hot path: two property reads when unchanged). */
  get active(): boolean {
    return this.#current() !== null;
  }

  #current(): Instruments | null {
    if (!this.#options.enabled || this.#closed) return null;
    const provider = this.#options.meterProvider ?? metrics.getMeterProvider();
    if (provider === this.#provider) return this.#instruments;
    this.#instruments?.close();
    this.#provider = provider;
    const meter = provider.getMeter(INSTRUMENTATION_SCOPE);
    this.#instruments = meter.constructor === NOOP_METER_CLASS ? null : new Instruments(meter, this);
    debug(this.#instruments ? 'metrics on a %s' : 'no meter provider (%s): metrics off', provider.constructor.name);
    return this.#instruments;
  }

  /** @internal */
  get options(): MetricsOptions {
    return this.#options;
  }

  metric(event: MetricEvent): void {
    this.#current()?.metric(event);
  }

  health(event: HealthEvent): void {
    if (event.type === 'circuit-open' || event.type === 'circuit-half-open' || event.type === 'circuit-closed') {
      let byEndpoint = this.circuits.get(event.service);
      if (!byEndpoint) this.circuits.set(event.service, (byEndpoint = new Map()));
      byEndpoint.set(event.endpoint ?? '', CIRCUIT_STATE[event.type.slice(8) as keyof typeof CIRCUIT_STATE]);
    } else if (event.type === 'endpoint-removed' && event.endpoint !== undefined) {
      this.circuits.get(event.service)?.delete(event.endpoint);
    }
    this.#current()?.health(event);
  }

  config(event: ConfigEvent): void {
    this.#current()?.config(event);
  }

  /** Unregisters the observable callbacks; nothing is recorded afterwards. */
  close(): void {
    this.#closed = true;
    this.#instruments?.close();
    this.#instruments = null;
  }
}

/** The instruments made on one meter. */
class Instruments {
  readonly #meter: Meter;
  readonly #httpDuration: Histogram;
  readonly #requestDuration: Histogram;
  readonly #retries: Counter;
  readonly #retriesRefused: Counter;
  readonly #hedges: Counter;
  readonly #rejected: Counter;
  readonly #ejections: Counter;
  readonly #healthChanges: Counter;
  readonly #circuitTransitions: Counter;
  readonly #panics: Counter;
  readonly #endpointChanges: Counter;
  readonly #discoveryUpdates: Counter;
  readonly #discoveryErrors: Counter;
  readonly #configUpdates: Counter;
  readonly #identityRejections: Counter;
  readonly #tlsUpdates: Counter;
  readonly #observables: Observable[];
  readonly #callback: BatchObservableCallback;
  /**
   * `proxyless.requests`, counted here and reported when the reader collects
   * (an observable counter: the same cumulative sums a synchronous counter
   * exports, without a second attribute hash per request in the SDK). The
   * entry's frozen attributes are also what `proxyless.request.duration` records
   * with, so a request allocates no attribute object.
   */
  readonly #requestCounts: { readonly attrs: Attributes; count: number }[] = [];
  /** The entries of {@link #requestCounts} by service, method, outcome, error and egress. */
  readonly #requestEntries = new TupleCache<{ readonly attrs: Attributes; count: number }>();
  /** Where attribute sets past the cardinality limit are counted (also in {@link #requestCounts} once used). */
  #requestOverflow: { readonly attrs: Attributes; count: number } | undefined;
  /** The frozen attributes of `http.client.request.duration` by endpoint, method, status, error and service. */
  readonly #attemptAttrs = new TupleCache<Attributes>();

  constructor(meter: Meter, owner: Metrics) {
    this.#meter = meter;
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] } };
    const int = { valueType: ValueType.INT };
    this.#httpDuration = meter.createHistogram('http.client.request.duration', {
      description: 'Duration of HTTP client requests.',
      ...seconds,
    });
    const requests = meter.createObservableCounter('proxyless.requests', { description: 'Logical requests by outcome.', unit: '{request}', ...int });
    this.#requestDuration = meter.createHistogram('proxyless.request.duration', {
      description: 'Duration of logical requests, all attempts included, until the end of the response body.',
      ...seconds,
    });
    this.#retries = meter.createCounter('proxyless.retries', { description: 'Retries scheduled.', unit: '{retry}', ...int });
    this.#retriesRefused = meter.createCounter('proxyless.retries.refused', {
      description: 'Retries wanted but not sent (budget, non-idempotent, deadline...).',
      unit: '{retry}',
      ...int,
    });
    this.#hedges = meter.createCounter('proxyless.hedges', { description: 'Hedged attempts sent.', unit: '{attempt}', ...int });
    this.#rejected = meter.createCounter('proxyless.rejected', {
      description: 'Requests refused without being sent (bulkhead full, circuit open...).',
      unit: '{request}',
      ...int,
    });
    this.#ejections = meter.createCounter('proxyless.endpoint.ejections', {
      description: 'Endpoints ejected by outlier detection.',
      unit: '{ejection}',
      ...int,
    });
    this.#healthChanges = meter.createCounter('proxyless.endpoint.health_changes', {
      description: 'Active health check transitions (healthy/unhealthy) and restorations after ejection.',
      unit: '{transition}',
      ...int,
    });
    this.#circuitTransitions = meter.createCounter('proxyless.circuit.transitions', {
      description: 'Circuit breaker state changes.',
      unit: '{transition}',
      ...int,
    });
    this.#panics = meter.createCounter('proxyless.panics', { description: 'Entries into panic mode.', unit: '{event}', ...int });
    this.#endpointChanges = meter.createCounter('proxyless.endpoint.changes', {
      description: 'Endpoints added to or removed from a service.',
      unit: '{endpoint}',
      ...int,
    });
    this.#discoveryUpdates = meter.createCounter('proxyless.discovery.updates', {
      description: 'Endpoint sets delivered by discovery providers.',
      unit: '{update}',
      ...int,
    });
    this.#discoveryErrors = meter.createCounter('proxyless.discovery.errors', {
      description: 'Discovery provider failures (the last known good set keeps serving).',
      unit: '{error}',
      ...int,
    });
    this.#configUpdates = meter.createCounter('proxyless.config.updates', {
      description: 'Configurations applied or rejected.',
      unit: '{update}',
      ...int,
    });
    this.#identityRejections = meter.createCounter('proxyless.peer_identity.rejected', {
      description: 'Connections refused because the peer certificate carried no allowed identity.',
      unit: '{connection}',
      ...int,
    });
    this.#tlsUpdates = meter.createCounter('proxyless.tls.updates', {
      description: 'TLS material updates applied or rejected.',
      unit: '{update}',
      ...int,
    });

    const usable = meter.createObservableGauge('proxyless.endpoints.usable', {
      description: 'Endpoints the balancer may pick, per service.',
      unit: '{endpoint}',
      ...int,
    });
    const total = meter.createObservableGauge('proxyless.endpoints', { description: 'Endpoints per service.', unit: '{endpoint}', ...int });
    const circuit = meter.createObservableGauge('proxyless.circuit.state', {
      description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      unit: '1',
      ...int,
    });
    const budget = meter.createObservableGauge('proxyless.retry_budget.remaining', {
      description: 'Retries the retry budget still allows, per service.',
      unit: '{retry}',
    });
    const observerErrors = meter.createObservableCounter('proxyless.observer.errors', {
      description: 'Times an observer or event listener threw.',
      unit: '{error}',
      ...int,
    });
    this.#observables = [requests, usable, total, circuit, budget, observerErrors];
    const active = owner.options.activeRequests
      ? meter.createObservableUpDownCounter('http.client.active_requests', {
          description: 'Number of active HTTP requests.',
          unit: '{request}',
          ...int,
        })
      : undefined;
    if (active) this.#observables.push(active);

    const callback: BatchObservableCallback = (result) => {
      for (const entry of this.#requestCounts) result.observe(requests, entry.count, entry.attrs);
      const state = owner.options.read();
      result.observe(observerErrors, state.observerErrors);
      for (const [service, svc] of Object.entries(state.services)) {
        const attrs = { [MESH_ATTR.SERVICE]: service };
        const endpoints = (svc as { endpoints?: unknown }).endpoints;
        const list = Array.isArray(endpoints) ? (endpoints as Record<string, unknown>[]) : [];
        const usableCount = numberAt(svc, 'usableEndpoints');
        if (usableCount !== undefined) result.observe(usable, usableCount, attrs);
        result.observe(total, list.length, attrs);
        const remaining = numberAt(svc, 'retryBudget', 'remaining') ?? numberAt(svc, 'resilience', 'retryBudget', 'available');
        if (remaining !== undefined) result.observe(budget, remaining, attrs);
        if (active) {
          for (const e of list) {
            if (typeof e.url !== 'string' || typeof e.inflight !== 'number') continue;
            const t = targetOf(e.url);
            result.observe(active, e.inflight, {
              [ATTR.SERVER_ADDRESS]: t.address,
              [ATTR.SERVER_PORT]: t.port,
              [ATTR.URL_SCHEME]: t.scheme,
              [MESH_ATTR.SERVICE]: service,
            });
          }
        }
      }
      for (const [service, byEndpoint] of owner.circuits) {
        for (const [endpoint, value] of byEndpoint) {
          const attrs: Attributes = { [MESH_ATTR.SERVICE]: service };
          if (endpoint !== '') attrs[MESH_ATTR.ENDPOINT] = endpoint;
          result.observe(circuit, value, attrs);
        }
      }
    };
    this.#callback = callback;

    meter.addBatchObservableCallback(this.#callback, this.#observables);
  }

  metric(event: MetricEvent): void {
    switch (event.type) {
      case 'attempt':
        this.#httpDuration.record(event.durationMs / 1000, this.#attemptAttributes(event));
        return;
      case 'request': {
        const outcome = event.outcome;
        const method = normalizeMethod(event.method);
        const egress = event.egress === true;
        let entry = this.#requestEntries.get(event.service, method, outcome, event.error, egress);
        if (entry === undefined) {
          // At the SDK's default cardinality limit (which counts the overflow set), new attribute sets share the
          // overflow set, as the SDK does for a synchronous counter: nothing is dropped.
          if (this.#requestEntries.size >= CARDINALITY_LIMIT - 1) {
            entry = this.#requestOverflow;
            if (entry === undefined) this.#requestCounts.push((entry = this.#requestOverflow = { attrs: OVERFLOW, count: 0 }));
          } else {
            const attrs: Attributes = { [MESH_ATTR.SERVICE]: event.service, [ATTR.HTTP_REQUEST_METHOD]: method, [MESH_ATTR.OUTCOME]: outcome };
            if (event.error !== undefined) attrs[ATTR.ERROR_TYPE] = event.error;
            if (egress) attrs[MESH_ATTR.EGRESS] = true;
            entry = { attrs: Object.freeze(attrs), count: 0 };
            this.#requestEntries.set(event.service, method, outcome, event.error, egress, entry);
            this.#requestCounts.push(entry);
          }
        }
        entry.count++;
        this.#requestDuration.record(event.durationMs / 1000, entry.attrs);
        return;
      }
      case 'retry':
        this.#retries.add(1, { [MESH_ATTR.SERVICE]: event.service, [MESH_ATTR.REASON]: event.reason });
        return;
      case 'retry-refused':
        this.#retriesRefused.add(1, { [MESH_ATTR.SERVICE]: event.service, [MESH_ATTR.REASON]: event.reason });
        return;
      case 'retry-budget-exhausted':
        this.#retriesRefused.add(1, { [MESH_ATTR.SERVICE]: event.service, [MESH_ATTR.REASON]: 'budget' });
        return;
      case 'hedge':
        this.#hedges.add(1, { [MESH_ATTR.SERVICE]: event.service });
        return;
      case 'rejected':
        this.#rejected.add(1, { [MESH_ATTR.SERVICE]: event.service, [MESH_ATTR.REASON]: event.reason });
        return;
      case 'discovery-update':
        this.#discoveryUpdates.add(1, { [MESH_ATTR.SERVICE]: event.service, [MESH_ATTR.PROVIDER]: event.provider });
        return;
      case 'discovery-error':
        this.#discoveryErrors.add(1, { [MESH_ATTR.SERVICE]: event.service, [MESH_ATTR.PROVIDER]: event.provider, [ATTR.ERROR_TYPE]: event.error });
        return;
    }
  }

  /** The attributes of one attempt's `http.client.request.duration`, made once per distinct set and reused. */
  #attemptAttributes(event: AttemptMetricEvent): Attributes {
    let attrs = this.#attemptAttrs.get(event.endpoint, event.method, event.status, event.error, event.service);
    if (attrs !== undefined) return attrs;
    const t = targetOf(event.endpoint);
    const made: Attributes = {
      [ATTR.HTTP_REQUEST_METHOD]: normalizeMethod(event.method),
      [ATTR.SERVER_ADDRESS]: t.address,
      [ATTR.SERVER_PORT]: t.port,
      [MESH_ATTR.SERVICE]: event.service,
    };
    if (event.status !== undefined) {
      made[ATTR.HTTP_RESPONSE_STATUS_CODE] = event.status;
      made[ATTR.NETWORK_PROTOCOL_VERSION] = '1.1';
    }
    const type = errorType(event.status, event.error === undefined ? undefined : { code: event.error });
    if (type !== undefined) made[ATTR.ERROR_TYPE] = type;
    attrs = Object.freeze(made);
    // A bounded cache (endpoints come and go): start over when full, as targetOf does.
    if (this.#attemptAttrs.size >= CARDINALITY_LIMIT) this.#attemptAttrs.clear();
    this.#attemptAttrs.set(event.endpoint, event.method, event.status, event.error, event.service, attrs);
    return attrs;
  }

  health(event: HealthEvent): void {
    const service = { [MESH_ATTR.SERVICE]: event.service };
    switch (event.type) {
      case 'endpoint-added':
      case 'endpoint-removed':
        this.#endpointChanges.add(1, { ...service, 'proxyless.change': event.type.slice(9) });
        return;
      case 'endpoint-ejected':
        this.#ejections.add(1, { ...service, [MESH_ATTR.ENDPOINT]: event.endpoint });
        return;
      case 'endpoint-healthy':
      case 'endpoint-unhealthy':
      case 'endpoint-restored':
        this.#healthChanges.add(1, { ...service, [MESH_ATTR.ENDPOINT]: event.endpoint, 'proxyless.health': event.type.slice(9) });
        return;
      case 'circuit-open':
      case 'circuit-half-open':
      case 'circuit-closed': {
        const attrs: Attributes = { ...service, [MESH_ATTR.STATE]: event.type.slice(8) };
        if (event.endpoint !== undefined) attrs[MESH_ATTR.ENDPOINT] = event.endpoint;
        this.#circuitTransitions.add(1, attrs);
        return;
      }
      case 'panic':
        if (event.active !== false) this.#panics.add(1, service);
        return;
      case 'peer-identity-rejected':
        this.#identityRejections.add(1, { ...service, [MESH_ATTR.ENDPOINT]: event.endpoint });
        return;
      case 'tls-updated':
      case 'tls-update-rejected':
        this.#tlsUpdates.add(1, { ...service, [MESH_ATTR.OUTCOME]: event.type === 'tls-updated' ? 'applied' : 'rejected' });
        return;
    }
  }

  config(event: ConfigEvent): void {
    this.#configUpdates.add(1, { [MESH_ATTR.OUTCOME]: event.type });
  }

  close(): void {
    this.#meter.removeBatchObservableCallback(this.#callback, this.#observables);
  }
}
