import type { EventEmitter } from 'eventemitter3';
import type { ConfigEvent, HealthEvent, MeshEvents, MetricEvent, Observer } from './events.js';
import type { Logger } from '../util/logger.js';
import { debugChannel } from '../util/logger.js';
import { logEvent } from './log-events.js';

const debug = debugChannel('events');

/**
 * An internal receiver of every event (the OpenTelemetry bridge). It is
 * consulted through {@link EventSink.active} so that, with no SDK installed,
 * the request path still builds no event at all.
 */
export interface EventSink {
  /** True when the sink wants metric events right now (health and config events, being rare, always reach it). Read on the hot path: keep it cheap. */
  readonly active: boolean;
  health(event: HealthEvent): void;
  metric(event: MetricEvent): void;
  config(event: ConfigEvent): void;
}

/**
 * The one internal event bus: every event goes to the client's emitter and to
 * each observer. Listener and observer failures are contained here.
 */
export class EventBus {
  readonly #emitter: EventEmitter<MeshEvents>;
  #observers: readonly Observer[];
  readonly #logger: Logger;
  readonly #reported = new WeakSet<object>();
  #sink: EventSink | undefined;
  /** How many times an observer or listener threw. */
  observerErrors = 0;

  constructor(emitter: EventEmitter<MeshEvents>, observers: readonly Observer[], logger: Logger) {
    this.#emitter = emitter;
    this.#observers = observers;
    this.#logger = logger;
  }

  setObservers(observers: readonly Observer[]): void {
    this.#observers = observers;
  }

  /** Installs the internal sink that sees every event before listeners and observers. */
  setSink(sink: EventSink | undefined): void {
    this.#sink = sink;
  }

  /** True when someone listens for metric events (lets the hot path skip building them). */
  get wantsMetrics(): boolean {
    if (this.#sink?.active === true || this.#emitter.listenerCount('metric') > 0) return true;
    // A plain loop: this runs twice per request, and `some` would take a callback each time.
    for (const o of this.#observers) if (o.onMetric) return true;
    return false;
  }

  health(event: HealthEvent): void {
    if (this.#sink) this.#call(this.#sink, this.#sink.health, event);
    this.#log(event, 'health');
    this.#deliver('health', event);
    for (const o of this.#observers) if (o.onHealth) this.#call(o, o.onHealth, event);
  }

  metric(event: MetricEvent): void {
    if (this.#sink?.active) this.#call(this.#sink, this.#sink.metric, event);
    if (event.type !== 'attempt' && event.type !== 'request') this.#log(event, 'metric');
    this.#deliver('metric', event);
    for (const o of this.#observers) if (o.onMetric) this.#call(o, o.onMetric, event);
  }

  config(event: ConfigEvent): void {
    if (this.#sink) this.#call(this.#sink, this.#sink.config, event);
    this.#log(event, 'config');
    this.#deliver('config', event);
    for (const o of this.#observers) if (o.onConfig) this.#call(o, o.onConfig, event);
  }

  #deliver<K extends keyof MeshEvents>(name: K, event: Parameters<MeshEvents[K]>[0]): void {
    if (this.#emitter.listenerCount(name) === 0) return;
    try {
      (this.#emitter.emit as (n: string, e: unknown) => boolean)(name, event);
    } catch (error) {
      this.#failed(this.#emitter, error, `a '${name}' listener threw`);
    }
  }

  #call<E>(observer: object, fn: (event: E) => void, event: E): void {
    try {
      fn.call(observer, event);
    } catch (error) {
      this.#failed(observer, error, 'an observer threw');
    }
  }

  /** Logs notable control-side events; a logger that throws is contained like an observer. */
  #log(event: HealthEvent | ConfigEvent | MetricEvent, kind: 'health' | 'config' | 'metric'): void {
    try {
      logEvent(this.#logger, event, kind);
    } catch (error) {
      this.observerErrors++;
      if (this.#reported.has(this.#logger)) return;
      this.#reported.add(this.#logger);
      // The logger itself is broken: nowhere else to say it than the debug channel.
      debug('the logger threw; its errors are counted: %o', error);
    }
  }

  #failed(source: object, error: unknown, what: string): void {
    this.observerErrors++;
    if (this.#reported.has(source)) return;
    this.#reported.add(source);
    this.#logger.error({ err: error }, `proxyless: ${what}; its errors are counted, reported once`);
  }
}
