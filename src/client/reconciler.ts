import type { Dispatcher } from 'undici';
import type { ResolvedConfig, ResolvedService } from '../config/resolve.js';
import type { Endpoint } from '../endpoint/endpoint.js';
import { DiscoveryRegistry, type DiscoveryPlan } from '../discovery/registry.js';
import { HealthChecker } from '../health/checker.js';
import { ServiceResilience, type ResilienceEnvironment } from '../resilience/service-resilience.js';
import { SecurityRegistry } from '../security/registry.js';
import type { EventBus } from '../telemetry/event-bus.js';
import type { HealthEventInput } from '../telemetry/events.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { debugChannel, type Logger } from '../util/logger.js';
import { EndpointState } from './endpoint-state.js';
import type { RequestRoute } from './request/route.js';
import { ServiceRuntime, type RuntimeEnvironment } from './service-runtime.js';

const trace = debugChannel('client');

/** The state the request path reads: swapped whole, never edited. */
export interface MeshState {
  readonly version: number;
  readonly config: ResolvedConfig;
  readonly services: ReadonlyMap<string, ServiceRuntime>;
  /** Routes by origin, cached for this version (see `OriginRouter`). */
  readonly routes: Map<string, RequestRoute>;
}

/** What the control side needs from its client. */
export interface ControlEnvironment {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** The user's `transport` (bridged), when endpoints are dialled through it. */
  readonly transport: ((origin: string) => Dispatcher) | undefined;
  /** What each service's resilience runtime gets. */
  readonly resilience: ResilienceEnvironment;
  /** True once the client is closing: nothing more is scheduled. */
  closed(): boolean;
}

/**
 * The control side of a {@link MeshState}: it turns each validated config
 * and each discovery update into the next state and swaps it in (endpoint
 * state, pools, balancers, breakers and ejections carried over by URL and
 * service), keeps health checkers in step, and re-runs balancer updates
 * while endpoints ramp up in slow start. The request path only reads
 * {@link MeshReconciler.state}.
 */
export class MeshReconciler {
  #state: MeshState;
  readonly #env: ControlEnvironment;
  /** Endpoint runtime state by service, then URL: what survives config updates. */
  readonly #endpoints = new Map<string, Map<string, EndpointState>>();
  /** Resilience runtime by service: budgets, breakers, ejections survive config updates. */
  readonly #resilience = new Map<string, ServiceResilience<EndpointState>>();
  /** TLS runtimes and credential caches by service. */
  readonly security: SecurityRegistry;
  readonly registry: DiscoveryRegistry;
  readonly checkers = new Map<string, HealthChecker>();
  #rampTimer: TimerHandle | undefined;
  /** Health events queued while a new state is being built. */
  #batch: HealthEventInput[] | undefined;

  constructor(env: ControlEnvironment, config: ResolvedConfig) {
    this.#env = env;
    const { bus, clock } = env;
    this.security = new SecurityRegistry(clock, bus);
    this.#state = { version: 0, config, services: new Map(), routes: new Map() };
    this.registry = new DiscoveryRegistry(
      { clock, random: env.random, logger: env.logger },
      {
        changed: (service) => this.#rediscovered(service),
        event: (event) => bus.health({ ...event, time: clock.wallNow() }),
        metric: (metric) => {
          if (!bus.wantsMetrics) return;
          const base = { service: metric.service, time: clock.wallNow(), provider: metric.provider };
          if (metric.kind === 'update') bus.metric({ type: 'discovery-update', ...base, endpoints: metric.endpoints });
          else bus.metric({ type: 'discovery-error', ...base, error: metric.error });
        },
      },
    );
  }

  /** The state in force. */
  get state(): MeshState {
    return this.#state;
  }

  /**
   * Resolves `true` once every discovery provider has answered at least once
   * (with endpoints or an error), or `false` after `timeoutMs` with some
   * still silent, or when the client closes first; never rejects.
   */
  ready(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: unknown;
      const registry = this.registry;
      const cancel = registry.onSettled(() => {
        if (timer !== undefined) this.#env.clock.clearTimeout(timer);
        resolve(!this.#env.closed());
      });
      if (!registry.settled) {
        // Kept alive: the caller awaits this promise, as it would a request.
        timer = this.#env.clock.setTimeout(
          () => {
            cancel();
            resolve(false);
          },
          timeoutMs,
          true,
        );
      }
    });
  }

  /** Builds the next state from a validated config and swaps it in. */
  apply(config: ResolvedConfig, source?: string): void {
    const previous = this.#state;
    const services = new Map<string, ServiceRuntime>();
    const draining: Promise<void>[] = [];
    const events: HealthEventInput[] = [];
    this.#batch = events;
    let ramping = false;

    const plans = new Map<string, DiscoveryPlan>();
    for (const [name, service] of config.services) plans.set(name, { discovery: service.discovery, endpoints: service.endpoints });
    this.registry.sync(plans);

    for (const [name, service] of config.services) {
      const initial = previous.version === 0;
      const runtime = this.#buildService(service, this.registry.endpoints(name), previous.services.get(name), draining, events, initial);
      ramping ||= runtime.endpoints.some((e) => e.ramping);
      services.set(name, runtime);
    }
    // Services that disappeared: every endpoint is removed.
    for (const [name, byUrl] of this.#endpoints) {
      if (config.services.has(name)) continue;
      for (const [url, state] of byUrl) {
        draining.push(state.close());
        events.push({ type: 'endpoint-removed', service: name, endpoint: url });
      }
      this.#endpoints.delete(name);
      this.#resilience.get(name)?.close();
      this.#resilience.delete(name);
    }

    this.security.retain(config.services);
    const version = previous.version + 1;
    this.#state = { version, config, services, routes: new Map() };
    trace('applied config version %d (%d services)', version, services.size);
    // After the swap: clearing 'unhealthy' marks must refresh the new runtimes.
    for (const [name, checker] of this.checkers) {
      if (services.get(name)?.config.healthCheck) continue;
      this.checkers.delete(name);
      void checker.close();
    }
    for (const runtime of services.values()) this.#syncHealth(runtime);
    void Promise.allSettled(draining);
    this.#batch = undefined;
    if (ramping) this.#scheduleRamp();
    const bus = this.#env.bus;
    const time = this.#env.clock.wallNow();
    for (const event of events) bus.health({ ...event, time });
    bus.config({ type: 'applied', service: '*', time, version, ...(source === undefined ? {} : { source }) });
  }

  /** Stops the slow-start timer and the security and resilience runtimes (the client is closing). */
  stop(): void {
    if (this.#rampTimer !== undefined) this.#env.clock.clearTimeout(this.#rampTimer);
    this.#rampTimer = undefined;
    this.security.close();
    for (const resilience of this.#resilience.values()) resilience.close();
  }

  /** Closes (drained) or destroys every endpoint's pool. */
  closeEndpoints(drained: boolean, closing: Promise<unknown>[]): void {
    for (const byUrl of this.#endpoints.values()) for (const state of byUrl.values()) closing.push(drained ? state.close() : state.destroy());
  }

  /** Closes discovery and the health checkers. */
  closeWatchers(closing: Promise<unknown>[]): void {
    closing.push(this.registry.close());
    for (const checker of this.checkers.values()) closing.push(checker.close());
    this.checkers.clear();
  }

  /**
   * While endpoints are in slow start, re-runs balancer updates every tenth
   * of the shortest window so balancers that cache weights see the ramp.
   */
  #scheduleRamp(): void {
    if (this.#rampTimer !== undefined || this.#env.closed()) return;
    let shortest = Infinity;
    for (const service of this.#state.services.values()) {
      if (service.config.slowStart) shortest = Math.min(shortest, service.config.slowStart.windowMs);
    }
    if (!Number.isFinite(shortest)) return;
    const tick = Math.max(50, Math.floor(shortest / 10));
    const run = () => {
      this.#rampTimer = undefined;
      if (this.#env.closed()) return;
      let still = false;
      for (const service of this.#state.services.values()) {
        if (!service.endpoints.some((e) => e.ramping)) continue;
        service.refreshWeights();
        still ||= service.endpoints.some((e) => e.ramping);
      }
      if (still) this.#rampTimer = this.#env.clock.setTimeout(run, tick);
    };
    this.#rampTimer = this.#env.clock.setTimeout(run, tick);
  }

  /** A discovery provider changed the endpoints of one service: swap in its next runtime. */
  #rediscovered(name: string): void {
    if (this.#env.closed()) return;
    const state = this.#state;
    const service = state.config.services.get(name);
    if (!service) return;
    const draining: Promise<void>[] = [];
    const events: HealthEventInput[] = [];
    const runtime = this.#buildService(service, this.registry.endpoints(name), state.services.get(name), draining, events);
    const services = new Map(state.services);
    services.set(name, runtime);
    this.#state = { ...state, services, routes: new Map() };
    trace('%s: discovery applied %d endpoints', name, runtime.endpoints.length);
    this.#syncHealth(runtime);
    void Promise.allSettled(draining);
    const time = this.#env.clock.wallNow();
    for (const event of events) this.#env.bus.health({ ...event, time });
  }

  /**
   * Builds one service's runtime from its endpoint set, reusing endpoint
   * state by URL (pools and counters carry over) and the balancer when its
   * policy is unchanged. Removed endpoints are marked draining and closed.
   */
  #buildService(
    service: ResolvedService,
    endpoints: readonly Endpoint[],
    old: ServiceRuntime | undefined,
    draining: Promise<void>[],
    events: HealthEventInput[],
    initial = false,
  ): ServiceRuntime {
    const name = service.name;
    let byUrl = this.#endpoints.get(name);
    if (!byUrl) this.#endpoints.set(name, (byUrl = new Map()));
    const security = this.security.apply(name, service.security);
    const states: EndpointState[] = [];
    const keep = new Set<string>();
    // One callback shared by the service's endpoints (no closure per endpoint).
    const onDownChange = (): void => this.#downChanged(name);
    for (const endpoint of endpoints) {
      keep.add(endpoint.url);
      let state = byUrl.get(endpoint.url);
      if (state) {
        const oldPool = state.reconfigure(endpoint, service.connection, security.tls);
        if (oldPool) draining.push(oldPool.close());
      } else {
        state = new EndpointState(endpoint, service.connection, security.tls, this.#env.transport);
        state.onDownChange = onDownChange;
        byUrl.set(endpoint.url, state);
        if (service.slowStart && !initial) {
          const clock = this.#env.clock;
          state.startSlowStart(() => clock.now(), service.slowStart.windowMs, service.slowStart.minWeightPercent / 100);
        }
        events.push({ type: 'endpoint-added', service: name, endpoint: endpoint.url });
      }
      states.push(state);
    }
    for (const [url, state] of byUrl) {
      if (keep.has(url)) continue;
      byUrl.delete(url);
      state.onDownChange = undefined;
      state.setDown('draining', true);
      draining.push(state.close());
      events.push({ type: 'endpoint-removed', service: name, endpoint: url });
    }
    let resilience = this.#resilience.get(name);
    if (!resilience) this.#resilience.set(name, (resilience = new ServiceResilience(name, this.#env.resilience)));
    const runtime = new ServiceRuntime(service, states, this.#runtimeEnv(), old, security, resilience);
    resilience.configure(service.resilience, runtime);
    if (runtime.endpoints.some((e) => e.ramping)) this.#scheduleRamp();
    return runtime;
  }

  /**
   * What a service runtime needs: randomness, time, other services (read from
   * the current state, for splits to another service) and a panic reporter
   * (a destination's panic transitions become `panic` health events).
   */
  #runtimeEnv(): RuntimeEnvironment {
    const clock = this.#env.clock;
    return {
      random: this.#env.random,
      now: () => clock.now(),
      lookup: (service) => this.#state.services.get(service),
      onPanic: (service, destination, entering, { up, total, threshold }) => {
        const where = destination === service ? '' : `${destination}: `;
        this.#emitHealth({
          type: 'panic',
          service,
          reason: entering
            ? `${where}entered panic mode: ${up} of ${total} endpoints up (threshold ${threshold}%); using all`
            : `${where}left panic mode: ${up} of ${total} endpoints up`,
        });
      },
    };
  }

  /** Emits now, or queues into the batch being applied (so events follow the state swap). */
  #emitHealth(event: HealthEventInput): void {
    if (this.#batch) this.#batch.push(event);
    else this.#env.bus.health({ ...event, time: this.#env.clock.wallNow() });
  }

  /** Starts, updates or stops the active health checker of a service. */
  #syncHealth(runtime: ServiceRuntime): void {
    const config = runtime.config.healthCheck;
    let checker = this.checkers.get(runtime.name);
    if (!config) return;
    if (checker) checker.reconfigure(config);
    else {
      const { bus, clock } = this.#env;
      checker = new HealthChecker(runtime.name, config, {
        clock,
        random: this.#env.random,
        emit: (event) => bus.health({ ...event, time: clock.wallNow() }),
      });
      this.checkers.set(runtime.name, checker);
    }
    runtime.traffic = checker;
    checker.setEndpoints(runtime.endpoints);
  }

  /** An endpoint of `name` gained or lost a down reason: recompute the current runtime's usable list. */
  #downChanged(name: string): void {
    const runtime = this.#state.services.get(name);
    if (!runtime) return;
    runtime.refresh();
  }
}
