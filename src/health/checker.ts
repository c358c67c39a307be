import { connect } from 'node:net';
import { request } from 'undici';
import type { LiveEndpoint } from '../endpoint/live-endpoint.js';
import type { HealthEventInput } from '../telemetry/events.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { debugChannel } from '../util/logger.js';
import type { HealthCheckTarget, ResolvedHealthCheck } from './options.js';

const trace = debugChannel('health');

/** What a {@link HealthChecker} needs from the mesh. */
export interface HealthCheckerEnvironment {
  readonly clock: Clock;
  readonly random: () => number;
  /** Emits a health event (the time is added by the caller). */
  emit(event: HealthEventInput): void;
}

/** The active-check state of one endpoint, for `mesh.health()`. */
export interface EndpointCheckStatus {
  /** The endpoint's state according to the checks. */
  readonly healthy: boolean;
  /** Passing checks in a row. */
  readonly consecutiveSuccesses: number;
  /** Failing checks in a row. */
  readonly consecutiveFailures: number;
  /** Why the last check failed, when it did. */
  readonly lastFailure?: string;
}

interface Tracked {
  readonly state: LiveEndpoint;
  healthy: boolean;
  successes: number;
  failures: number;
  lastFailure: string | undefined;
  timer: TimerHandle | undefined;
  /** When the timer fires (mesh clock). */
  dueAt: number;
  /** The timer waits the no-traffic interval: traffic re-arms it. */
  sleeping: boolean;
  running: AbortController | undefined;
  /** Service traffic (attempts) seen at the previous check. */
  traffic: number;
  gone: boolean;
}

/** What one check found: nothing when it passed. */
interface Failure {
  readonly message: string;
  /** An HTTP status outside `expectedStatuses` and `retriableStatuses`: unhealthy at once. */
  readonly immediate: boolean;
}

/**
 * Active health checking of one service's endpoints: each endpoint is
 * checked on its own timer (interval plus jitter). `unhealthyThreshold`
 * consecutive failures mark it down (reason `unhealthy`), or one HTTP answer
 * with a status outside `expectedStatuses` and `retriableStatuses`, as in
 * Envoy; `healthyThreshold` consecutive successes bring it back. A healthy
 * endpoint whose last check passed waits the slower `noTrafficIntervalMs`
 * while the service carries no traffic, and the service's next request
 * ({@link HealthChecker.onTraffic}) re-arms it at `intervalMs`. Endpoints
 * start healthy. Control side only.
 */
export class HealthChecker {
  /**
   * True while some check waits the no-traffic interval: the request path
   * then calls {@link HealthChecker.onTraffic} (one field read per request).
   */
  waiting = false;
  readonly #service: string;
  #config: ResolvedHealthCheck;
  readonly #env: HealthCheckerEnvironment;
  readonly #tracked = new Map<string, Tracked>();
  #endpoints: readonly LiveEndpoint[] = [];
  #closed = false;

  constructor(service: string, config: ResolvedHealthCheck, env: HealthCheckerEnvironment) {
    this.#service = service;
    this.#config = config;
    this.#env = env;
  }

  /** Applies a new configuration; timers pick it up at their next run. */
  reconfigure(config: ResolvedHealthCheck): void {
    this.#config = config;
  }

  /** The service's endpoints changed: starts checking new ones, forgets removed ones. */
  setEndpoints(endpoints: readonly LiveEndpoint[]): void {
    if (this.#closed) return;
    this.#endpoints = endpoints;
    const keep = new Set<LiveEndpoint>(endpoints);
    for (const [url, t] of this.#tracked) {
      if (keep.has(t.state)) continue;
      this.#forget(t);
      this.#tracked.delete(url);
    }
    for (const state of endpoints) {
      if (this.#tracked.has(state.url)) continue;
      const t: Tracked = {
        state,
        healthy: state.downReasons.includes('unhealthy') ? false : true,
        successes: 0,
        failures: 0,
        lastFailure: undefined,
        timer: undefined,
        dueAt: 0,
        sleeping: false,
        running: undefined,
        traffic: this.#traffic(),
        gone: false,
      };
      this.#tracked.set(state.url, t);
      const c = this.#config;
      this.#schedule(t, (c.intervalMs * c.jitterPercent * this.#env.random()) / 100, false);
    }
  }

  /**
   * The service carries traffic again: checks sleeping at the no-traffic
   * interval are re-armed to run within `intervalMs` (plus jitter), so a
   * failing endpoint is found before the traffic reaches it for long.
   */
  onTraffic(): void {
    this.waiting = false;
    if (this.#closed) return;
    const now = this.#env.clock.now();
    for (const t of this.#tracked.values()) {
      if (!t.sleeping || t.timer === undefined) continue;
      const delay = this.#delay(this.#config.intervalMs);
      if (t.dueAt - now <= delay) continue;
      trace('%s %s traffic: check re-armed', this.#service, t.state.url);
      this.#env.clock.clearTimeout(t.timer);
      this.#schedule(t, delay, false);
    }
  }

  /** The check state of an endpoint, if tracked. */
  status(url: string): EndpointCheckStatus | undefined {
    const t = this.#tracked.get(url);
    if (!t) return undefined;
    return {
      healthy: t.healthy,
      consecutiveSuccesses: t.successes,
      consecutiveFailures: t.failures,
      ...(t.lastFailure === undefined ? {} : { lastFailure: t.lastFailure }),
    };
  }

  /** Stops every timer and check; endpoints lose their `unhealthy` mark. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#tracked.values()) {
      this.#forget(t);
      t.state.setDown('unhealthy', false);
    }
    this.#tracked.clear();
  }

  #forget(t: Tracked): void {
    t.gone = true;
    if (t.timer !== undefined) this.#env.clock.clearTimeout(t.timer);
    t.timer = undefined;
    t.running?.abort(new Error('health check cancelled'));
    t.running = undefined;
  }

  #traffic(): number {
    let n = 0;
    for (const e of this.#endpoints) n += e.attempts;
    return n;
  }

  /** A base interval plus up to `jitterPercent` % of it. */
  #delay(base: number): number {
    return base + (base * this.#config.jitterPercent * this.#env.random()) / 100;
  }

  #schedule(t: Tracked, delayMs: number, sleeping: boolean): void {
    if (t.gone || this.#closed) return;
    t.sleeping = sleeping;
    if (sleeping) this.waiting = true;
    t.dueAt = this.#env.clock.now() + delayMs;
    t.timer = this.#env.clock.setTimeout(() => {
      t.timer = undefined;
      t.sleeping = false;
      void this.#run(t);
    }, delayMs);
  }

  async #run(t: Tracked): Promise<void> {
    if (t.gone || this.#closed) return;
    const c = this.#config;
    const controller = new AbortController();
    t.running = controller;
    const clock = this.#env.clock;
    const timeout = clock.setTimeout(() => controller.abort(new Error(`timed out after ${c.timeoutMs} ms`)), c.timeoutMs);
    let failure: Failure | undefined;
    try {
      failure = await Promise.race([this.#probe(t.state, c, controller.signal), aborted(controller.signal)]);
    } catch (error) {
      const message = controller.signal.aborted ? reasonOf(controller.signal) : ((error as Error)?.message ?? String(error));
      failure = { message, immediate: false };
    } finally {
      clock.clearTimeout(timeout);
    }
    if (t.gone || this.#closed || t.running !== controller) return;
    t.running = undefined;
    try {
      this.#record(t, failure);
    } catch {
      // Marking the endpoint reaches the balancer; a throwing balancer must not stop the checks.
    }
    const traffic = this.#traffic();
    const idle = traffic === t.traffic;
    t.traffic = traffic;
    // Envoy's rule: the no-traffic interval only for an idle endpoint with no
    // pending transition (healthy, last check passed); every other one keeps
    // `intervalMs`, so a first failure is confirmed (or cleared) promptly.
    const slow = idle && t.healthy && t.failures === 0 && c.noTrafficIntervalMs > c.intervalMs;
    this.#schedule(t, this.#delay(slow ? c.noTrafficIntervalMs : c.intervalMs), slow);
  }

  /** Counts one result and applies a threshold crossing. */
  #record(t: Tracked, result: Failure | undefined): void {
    const c = this.#config;
    if (result === undefined) {
      t.failures = 0;
      t.successes++;
      t.lastFailure = undefined;
      if (!t.healthy && t.successes >= c.healthyThreshold) {
        t.healthy = true;
        trace('%s %s healthy', this.#service, t.state.url);
        this.#env.emit({ type: 'endpoint-healthy', service: this.#service, endpoint: t.state.url, reason: `${t.successes} checks passed` });
        t.state.setDown('unhealthy', false);
      }
      return;
    }
    const failure = result.message;
    t.successes = 0;
    t.failures++;
    t.lastFailure = failure;
    if (t.healthy && (result.immediate || t.failures >= c.unhealthyThreshold)) {
      t.healthy = false;
      trace('%s %s unhealthy: %s', this.#service, t.state.url, failure);
      const reason =
        result.immediate && t.failures < c.unhealthyThreshold
          ? `${failure} is not an expected status: unhealthy at once`
          : `${t.failures} checks failed; last: ${failure}`;
      this.#env.emit({ type: 'endpoint-unhealthy', service: this.#service, endpoint: t.state.url, reason });
      t.state.setDown('unhealthy', true); // may emit 'panic' after the event above
    }
  }

  /** Runs one check; resolves `undefined` when healthy, else why not. */
  async #probe(state: LiveEndpoint, c: ResolvedHealthCheck, signal: AbortSignal): Promise<Failure | undefined> {
    if (c.type === 'custom') {
      const target: HealthCheckTarget = { service: this.#service, url: state.url, host: state.host, port: state.port, signal };
      const ok = await c.check!(target);
      return ok === false ? { message: 'the check function returned false', immediate: false } : undefined;
    }
    if (c.type === 'tcp') {
      const message = await tcpProbe(state.host, state.port, signal);
      return message === undefined ? undefined : { message, immediate: false };
    }
    // The endpoint's own dispatcher: the service's TLS (mTLS, identity check) and a user's
    // transport apply to checks too, as Envoy's checks use the cluster's transport socket;
    // `connection.interceptors` do not, as Envoy's checks skip the HTTP filter chain.
    const res = await request(`${state.url}${c.path}`, {
      dispatcher: state.direct(),
      method: 'GET',
      headers: { ...c.headers, host: c.host ?? this.#service },
      signal,
    });
    res.body.resume();
    const status = res.statusCode;
    if (inRanges(status, c.expectedStatuses)) return undefined;
    return { message: `status ${status}`, immediate: !inRanges(status, c.retriableStatuses) };
  }
}

function tcpProbe(host: string, port: number, signal: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string | undefined): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => done(reasonOf(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(undefined));
    socket.once('error', (error) => done(`connect failed: ${error.message}`));
  });
}

function inRanges(status: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
  return false;
}

function aborted(signal: AbortSignal): Promise<Failure> {
  return new Promise((resolve) => {
    const fail = (): void => resolve({ message: reasonOf(signal), immediate: false });
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

function reasonOf(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : String(r ?? 'aborted');
}
