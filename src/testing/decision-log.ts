import type { ConfigEvent, HealthEvent, MetricEvent, Observer } from '../telemetry/events.js';

/** One attempt of a logged request. */
export interface AttemptDecision {
  /** 0 for the first try, 1 for the first retry or hedge, ... */
  attempt: number;
  /** The endpoint it went to. */
  endpoint: string;
  /** The path sent (from the endpoint's call history), when known. */
  path?: string;
  /** The response status, when headers arrived. */
  status?: number;
  /** The error code, when the attempt failed. */
  error?: string;
  /** Test-clock milliseconds from sending to headers or failure. */
  durationMs: number;
}

/** A retry the mesh decided on, with its reason. */
export interface RetryDecision {
  /** The index of the attempt the retry sends (1 for the first retry). */
  attempt: number;
  /** The `retryOn` condition that matched, e.g. `reset`, `5xx`. */
  reason: string;
  /** The backoff before it, in milliseconds. */
  delayMs: number;
}

/** Everything the mesh decided for one logical request. */
export interface RequestDecision {
  /** Order in which requests appeared in the log, from 1. */
  id: number;
  /** The service (for egress: the host). */
  service: string;
  /** Upper-case method. */
  method: string;
  /** The path of the first attempt, when known. */
  path?: string;
  /** Each attempt in the order it settled. */
  attempts: AttemptDecision[];
  /** Retries the mesh scheduled, with why. */
  retries: RetryDecision[];
  /** Hedged attempts sent (their endpoints, when known). */
  hedges: string[];
  /** Why the request, or one of its retries, was refused without being sent (`rejected` events: e.g. `MESH_CIRCUIT_OPEN`), or that the retry budget was exhausted (`retry-budget-exhausted`). */
  refusals: string[];
  /** The endpoints tried, in order (a shorthand of `attempts`). */
  tried: string[];
  /** The final status, when a response was returned. */
  status?: number;
  /** The final error code, when the request failed. */
  error?: string;
  /** True when the caller cancelled the request (outcome `cancelled`: not a failure). */
  cancelled?: boolean;
  /** True while the request has not finished. */
  pending: boolean;
  /** Test-clock time the request was first seen. */
  time: number;
}

/** A health event in the log, with the test-clock time it happened. */
export interface HealthDecision {
  /** Test-clock milliseconds. */
  time: number;
  /** The event type, e.g. `circuit-open`, `endpoint-ejected`. */
  type: HealthEvent['type'];
  /** The service. */
  service: string;
  /** The endpoint, when one is concerned. */
  endpoint?: string;
  /** Why, when the mesh said. */
  reason?: string;
}

/** One event of the raw timeline, in arrival order. */
export interface TimelineEntry {
  /** Test-clock milliseconds. */
  time: number;
  /** Which stream the event came from. */
  channel: 'health' | 'metric' | 'config';
  /** The event as the mesh emitted it. */
  event: HealthEvent | MetricEvent | ConfigEvent;
}

/** Looks up the oldest call on `endpoint` with `method` not yet claimed by an attempt, returning its path. */
export type CallClaimer = (endpoint: string, method: string) => string | undefined;

const TRANSITIONS: ReadonlySet<string> = new Set([
  'circuit-open',
  'circuit-half-open',
  'circuit-closed',
  'endpoint-ejected',
  'endpoint-restored',
  'endpoint-healthy',
  'endpoint-unhealthy',
  'panic',
]);

/**
 * What the mesh decided, built from its own events: per request, the
 * endpoints tried in order and why each retry happened (`retry` events) or
 * was refused (`rejected`, `retry-budget-exhausted`); plus every health
 * event (breaker transitions, ejections, health changes) on the test clock.
 *
 * Requests are grouped from `attempt`, `retry`, `hedge`, `rejected` and
 * `request` events. Sequential requests are grouped exactly; when many
 * requests of one service run at once, attempts are matched to the oldest
 * request still waiting for that attempt index; events from a real mesh
 * carry a `requestId`, and then the grouping is exact.
 */
export class DecisionLog {
  /** Every request seen, in order. */
  readonly requests: RequestDecision[] = [];
  /** Every health event, in order. */
  readonly health: HealthDecision[] = [];
  /** Every event, in arrival order. */
  readonly timeline: TimelineEntry[] = [];
  /** The observer to give the mesh (the kit does it for you). */
  readonly observer: Observer;
  readonly #now: () => number;
  readonly #claim: CallClaimer | undefined;
  readonly #byId = new Map<unknown, RequestDecision>();

  /** @param now - test-clock time; @param claim - finds the path of an attempt in the call history */
  constructor(now: () => number, claim?: CallClaimer) {
    this.#now = now;
    this.#claim = claim;
    this.observer = {
      onHealth: (e) => this.#health(e),
      onMetric: (e) => this.#metric(e),
      onConfig: (e) => this.timeline.push({ time: this.#now(), channel: 'config', event: e }),
    };
  }

  /** The requests of one service (all when omitted). */
  requestsFor(service?: string): RequestDecision[] {
    return service === undefined ? [...this.requests] : this.requests.filter((r) => r.service === service);
  }

  /** Endpoints tried per request, e.g. `[['http://a:80'], ['http://a:80', 'http://b:80']]`. */
  tried(service?: string): string[][] {
    return this.requestsFor(service).map((r) => [...r.tried]);
  }

  /**
   * State transitions: breaker (`circuit-*`), ejection, active health and
   * panic events, optionally only for one service or endpoint.
   */
  transitions(filter: { service?: string; endpoint?: string } = {}): HealthDecision[] {
    return this.health.filter(
      (h) =>
        TRANSITIONS.has(h.type) &&
        (filter.service === undefined || h.service === filter.service) &&
        (filter.endpoint === undefined || h.endpoint === filter.endpoint),
    );
  }

  /** Forgets everything logged so far. */
  clear(): void {
    this.requests.length = 0;
    this.health.length = 0;
    this.timeline.length = 0;
    this.#byId.clear();
  }

  /** The log as readable text, one request or transition per block, in time order. */
  format(): string {
    return formatDecisions(this.requests, this.health);
  }

  #health(e: HealthEvent): void {
    const time = this.#now();
    this.timeline.push({ time, channel: 'health', event: e });
    this.health.push({
      time,
      type: e.type,
      service: e.service,
      ...(e.endpoint === undefined ? {} : { endpoint: e.endpoint }),
      ...(e.reason === undefined ? {} : { reason: e.reason }),
    });
  }

  #metric(e: MetricEvent): void {
    const time = this.#now();
    this.timeline.push({ time, channel: 'metric', event: e });
    const id = (e as { requestId?: unknown }).requestId;
    switch (e.type) {
      case 'attempt': {
        let r = this.#find(id, (x) => x.service === e.service && x.method === e.method && x.attempts.length === e.attempt);
        if (!r && e.attempt > 0) r = this.#find(id, (x) => x.service === e.service && x.method === e.method);
        r ??= this.#open(id, e.service, e.method, time);
        const path = this.#claim?.(e.endpoint, e.method);
        r.attempts.push({
          attempt: e.attempt,
          endpoint: e.endpoint,
          ...(path === undefined ? {} : { path }),
          ...(e.status === undefined ? {} : { status: e.status }),
          ...(e.error === undefined ? {} : { error: e.error }),
          durationMs: e.durationMs,
        });
        r.tried.push(e.endpoint);
        if (r.path === undefined && path !== undefined) r.path = path;
        return;
      }
      case 'retry': {
        const free = (x: RequestDecision) => x.service === e.service && !x.retries.some((t) => t.attempt === e.attempt);
        // Usually after the failed attempt's own event; tolerate a retry announced before it.
        const r =
          this.#find(id, (x) => free(x) && x.attempts.length === e.attempt) ??
          this.#find(id, (x) => free(x) && x.attempts.length === e.attempt - 1);
        (r ?? this.#open(id, e.service, '?', time)).retries.push({ attempt: e.attempt, reason: e.reason, delayMs: e.delayMs });
        return;
      }
      case 'hedge': {
        const r = this.#find(id, (x) => x.service === e.service);
        r?.hedges.push(e.endpoint ?? '?');
        return;
      }
      case 'retry-refused': {
        // 'budget' refusals are logged through their retry-budget-exhausted event.
        if (e.reason === 'budget') return;
        const r = this.#find(id, (x) => x.service === e.service && x.attempts.length === (e.attempt ?? x.attempts.length));
        r?.refusals.push(`retry-refused: ${e.reason}`);
        return;
      }
      case 'retry-budget-exhausted':
      case 'rejected': {
        const reason = e.type === 'rejected' ? e.reason : 'retry-budget-exhausted';
        const waiting = this.#find(id, (x) => x.service === e.service && x.attempts.length > 0 && x.retries.length >= x.attempts.length);
        const r = waiting ?? (e.type === 'rejected' ? this.#open(id, e.service, '?', time) : this.#find(id, (x) => x.service === e.service));
        r?.refusals.push(reason);
        return;
      }
      case 'request': {
        let r =
          this.#find(id, (x) => x.service === e.service && (x.method === e.method || x.method === '?') && x.attempts.length === e.attempts) ??
          this.#find(id, (x) => x.service === e.service && (x.method === e.method || x.method === '?'));
        r ??= this.#open(id, e.service, e.method, time);
        r.method = e.method;
        r.pending = false;
        if (e.status !== undefined) r.status = e.status;
        if (e.error !== undefined) r.error = e.error;
        if (e.outcome === 'cancelled') r.cancelled = true;
        if (id !== undefined) this.#byId.delete(id);
        return;
      }
    }
  }

  #find(id: unknown, test: (r: RequestDecision) => boolean): RequestDecision | undefined {
    if (id !== undefined) return this.#byId.get(id);
    for (const r of this.requests) if (r.pending && test(r)) return r;
    return undefined;
  }

  #open(id: unknown, service: string, method: string, time: number): RequestDecision {
    const r: RequestDecision = {
      id: this.requests.length + 1,
      service,
      method,
      attempts: [],
      retries: [],
      hedges: [],
      refusals: [],
      tried: [],
      pending: true,
      time,
    };
    this.requests.push(r);
    if (id !== undefined) this.#byId.set(id, r);
    return r;
  }
}

/**
 * Formats requests and health events as a readable, time-ordered text
 * (what {@link DecisionLog.format} returns; handy in assertion messages).
 */
export function formatDecisions(requests: readonly RequestDecision[], health: readonly HealthDecision[] = []): string {
  const blocks: { time: number; order: number; text: string }[] = [];
  let order = 0;
  for (const r of requests) {
    const outcome = r.pending
      ? 'pending'
      : r.cancelled === true
        ? `cancelled${r.status === undefined ? '' : ` after ${r.status}`}`
        : r.status !== undefined
          ? String(r.status)
          : `error ${r.error ?? '?'}`;
    const lines = [`#${r.id} ${r.method} ${r.service}${r.path === undefined ? '' : ` ${r.path}`} -> ${outcome} (${r.attempts.length} attempt${r.attempts.length === 1 ? '' : 's'})`];
    const retries = [...r.retries];
    for (const a of r.attempts) {
      const retry = retries.findIndex((t) => t.attempt === a.attempt);
      if (retry >= 0) {
        const t = retries.splice(retry, 1)[0]!;
        lines.push(`    retry: ${t.reason}, backoff ${t.delayMs} ms`);
      }
      lines.push(`    try ${a.attempt}: ${a.endpoint} -> ${a.status ?? a.error ?? '?'} in ${round(a.durationMs)} ms`);
    }
    for (const t of retries) lines.push(`    retry: ${t.reason}, backoff ${t.delayMs} ms (not sent)`);
    for (const h of r.hedges) lines.push(`    hedge: ${h}`);
    for (const x of r.refusals) lines.push(`    refused: ${x}`);
    blocks.push({ time: r.time, order: order++, text: lines.join('\n') });
  }
  for (const h of health) {
    const text = `@${round(h.time)} ms ${h.type} ${h.service}${h.endpoint ? ` ${h.endpoint}` : ''}${h.reason ? ` (${h.reason})` : ''}`;
    blocks.push({ time: h.time, order: order++, text });
  }
  blocks.sort((a, b) => a.time - b.time || a.order - b.order);
  return blocks.map((b) => b.text).join('\n');
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
