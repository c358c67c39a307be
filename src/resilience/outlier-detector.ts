import type { ResolvedOutlierDetection } from './options.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { CONNECT_PROBE } from './connect-probe.js';

/** What the detector keeps per endpoint. */
interface Record {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveLocal: number;
  successes: number;
  failures: number;
  ejected: boolean;
  /** Ejections so far, decremented by each interval the endpoint stays in (the multiplier). */
  multiplier: number;
  ejectedUntil: number;
  /** When it was last restored: the multiplier decays only after a whole interval back in. */
  restoredAt: number;
  timer: TimerHandle | undefined;
  /** The next connect probe, while one is scheduled. */
  probeTimer: TimerHandle | undefined;
  /** The wait before the next probe, in milliseconds (doubles per failed probe). */
  probeDelayMs: number;
  /**
   * The probe run this ejection owns: 0 while none does, else a number no
   * other ejection shares, so a late answer to an earlier ejection's probe is
   * ignored.
   */
  probeRun: number;
}

/** How an ejection ended: its time elapsed, or a connect probe succeeded first. */
export type RestoredBy = 'timer' | 'probe';

/** The callbacks of an {@link OutlierDetector}. */
export interface OutlierListener<E> {
  /** `probing` is true when connect probes may end this ejection early. */
  ejected(endpoint: E, reason: string, durationMs: number, probing: boolean): void;
  restored(endpoint: E, by: RestoredBy): void;
}

/** Options of an {@link OutlierDetector}. */
export interface OutlierDetectorOptions<E> {
  /**
   * Tries a TCP connection to `endpoint` (resolving true when it was
   * accepted; a rejection counts as false). When set, an endpoint ejected by
   * a consecutive check whose last failure was a connect failure is probed
   * on the {@link CONNECT_PROBE} schedule, and the first successful probe
   * restores it. Without it every ejection lasts its full time.
   */
  readonly connectProbe?: (endpoint: E, timeoutMs: number) => Promise<boolean>;
}

/**
 * Passive outlier detection as in Envoy and gRPC A50. Each attempt's outcome
 * feeds per-endpoint counters; `consecutive*` thresholds eject at once; every
 * `intervalMs` the success-rate and failure-percentage checks run over the
 * interval's counts. An ejection lasts `base × multiplier` (capped at
 * `max(base, maxEjectionTimeMs)`), after which a clock timer restores the
 * endpoint; the multiplier goes up per ejection and down per interval spent
 * un-ejected (a whole interval after its restoration). At most
 * `maxEjectionPercent` of the endpoints are ejected at once, but always at
 * least one may be.
 *
 * An ejection by a consecutive check whose last failure was a connect failure
 * (nothing was sent: the endpoint refused or could not be reached) is also
 * probed with TCP connects when a `connectProbe` is given: on the
 * {@link CONNECT_PROBE} schedule (first wait growing with the times ejected,
 * doubling per failed probe, capped), the first successful probe restores the
 * endpoint early and cancels its timer. The multiplier is kept, so a flapping
 * endpoint's next ejection is still longer. Ejections for 5xx responses, a low
 * success rate or a high failure percentage are never probed: those endpoints
 * accept connections; their answers are bad.
 */
export class OutlierDetector<E extends object> {
  readonly settings: ResolvedOutlierDetection;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #listener: OutlierListener<E>;
  readonly #records = new Map<E, Record>();
  readonly #probe: OutlierDetectorOptions<E>['connectProbe'];
  #interval: TimerHandle | undefined;
  #ejectedCount = 0;
  #probeRuns = 0;
  #disposed = false;

  constructor(
    settings: ResolvedOutlierDetection,
    clock: Clock,
    random: () => number,
    listener: OutlierListener<E>,
    options: OutlierDetectorOptions<E> = {},
  ) {
    this.settings = settings;
    this.#clock = clock;
    this.#random = random;
    this.#listener = listener;
    this.#probe = options.connectProbe;
  }

  /** Sets the endpoints watched: new ones start clean, removed ones are forgotten. */
  setEndpoints(endpoints: readonly E[]): void {
    const keep = new Set(endpoints);
    for (const [e, r] of this.#records) {
      if (keep.has(e)) continue;
      this.#stopTimers(r);
      if (r.ejected) this.#ejectedCount--;
      this.#records.delete(e);
    }
    for (const e of endpoints) if (!this.#records.has(e)) this.#records.set(e, fresh());
    this.#arm();
  }

  /** True while `endpoint` is ejected. */
  isEjected(endpoint: E): boolean {
    return this.#records.get(endpoint)?.ejected === true;
  }

  /** Endpoints ejected now. */
  get ejectedCount(): number {
    return this.#ejectedCount;
  }

  /**
   * Feeds one attempt's outcome: `status` when a response arrived, else a
   * local-origin failure (connect failure, reset, timeout); `connectFailure`
   * says that failure happened before anything was sent (`nothingSent` in
   * `retry-policy.ts`), which makes an ejection it triggers probed.
   */
  report(endpoint: E, status: number | undefined, connectFailure = false): void {
    const r = this.#records.get(endpoint);
    if (!r) return;
    const s = this.settings;
    if (status !== undefined && status < 500) {
      r.successes++;
      r.consecutive5xx = 0;
      r.consecutiveGateway = 0;
      r.consecutiveLocal = 0;
      return;
    }
    r.failures++;
    r.consecutive5xx++;
    if (status === undefined) {
      r.consecutiveLocal++;
      r.consecutiveGateway++;
    } else {
      r.consecutiveLocal = 0;
      if (status === 502 || status === 503 || status === 504) r.consecutiveGateway++;
      else r.consecutiveGateway = 0;
    }
    if (r.ejected) return;
    const probe = connectFailure && status === undefined;
    if (s.consecutive5xx !== undefined && r.consecutive5xx >= s.consecutive5xx) {
      this.#eject(endpoint, r, `${r.consecutive5xx} consecutive 5xx or transport failures`, probe);
    } else if (s.consecutiveGatewayFailure !== undefined && r.consecutiveGateway >= s.consecutiveGatewayFailure) {
      this.#eject(endpoint, r, `${r.consecutiveGateway} consecutive gateway failures`, probe);
    } else if (s.consecutiveLocalOriginFailure !== undefined && r.consecutiveLocal >= s.consecutiveLocalOriginFailure) {
      this.#eject(endpoint, r, `${r.consecutiveLocal} consecutive local-origin failures`, probe);
    }
  }

  /** Runs the interval checks now (the interval timer calls this). */
  runInterval(): void {
    const s = this.settings;
    const stats: { e: E; r: Record; total: number; rate: number }[] = [];
    for (const [e, r] of this.#records) {
      const total = r.successes + r.failures;
      stats.push({ e, r, total, rate: total === 0 ? 1 : r.successes / total });
      r.successes = 0;
      r.failures = 0;
    }
    const sr = s.successRate;
    if (sr) {
      const candidates = stats.filter((x) => x.total >= sr.requestVolume);
      if (candidates.length >= sr.minimumHosts) {
        const mean = candidates.reduce((a, x) => a + x.rate, 0) / candidates.length;
        const variance = candidates.reduce((a, x) => a + (x.rate - mean) ** 2, 0) / candidates.length;
        const threshold = mean - sr.stdevFactor * Math.sqrt(variance);
        for (const x of candidates) {
          if (x.rate < threshold && !x.r.ejected && this.#random() * 100 < sr.enforcementPercent) {
            this.#eject(x.e, x.r, `success rate ${(x.rate * 100).toFixed(1)}% below ${(threshold * 100).toFixed(1)}%`, false);
          }
        }
      }
    }
    const fp = s.failurePercentage;
    if (fp) {
      const candidates = stats.filter((x) => x.total >= fp.requestVolume);
      if (candidates.length >= fp.minimumHosts) {
        for (const x of candidates) {
          const failed = (1 - x.rate) * 100;
          if (failed >= fp.threshold && !x.r.ejected && this.#random() * 100 < fp.enforcementPercent) {
            this.#eject(x.e, x.r, `failure percentage ${failed.toFixed(1)}% >= ${fp.threshold}%`, false);
          }
        }
      }
    }
    const now = this.#clock.now();
    for (const x of stats) {
      if (!x.r.ejected && x.r.multiplier > 0 && now - x.r.restoredAt >= s.intervalMs) x.r.multiplier--;
    }
  }

  /**
   * Per-endpoint state for `snapshot()`: `probing` is set while connect
   * probes may end the ejection early.
   */
  describe(endpoint: E): { ejected: boolean; ejectedUntilMs?: number; timesEjected: number; probing?: true } | undefined {
    const r = this.#records.get(endpoint);
    if (!r) return undefined;
    if (!r.ejected) return { ejected: false, timesEjected: r.multiplier };
    const out = { ejected: true, ejectedUntilMs: Math.max(0, Math.round(r.ejectedUntil - this.#clock.now())), timesEjected: r.multiplier };
    return r.probeRun !== 0 ? { ...out, probing: true } : out;
  }

  /** Stops every timer and probe: nothing runs afterwards, and answers of probes in flight are ignored. */
  dispose(): void {
    this.#disposed = true;
    if (this.#interval !== undefined) this.#clock.clearTimeout(this.#interval);
    this.#interval = undefined;
    for (const r of this.#records.values()) this.#stopTimers(r);
  }

  /**
   * Keeps the interval timer running only while it has work: a rate check
   * with enough endpoints, or a multiplier to decay. An idle service holds no
   * timer (and fake-timer tests that run every timer terminate).
   */
  #arm(): void {
    const s = this.settings;
    const n = this.#records.size;
    let needed = (s.successRate !== undefined && n >= s.successRate.minimumHosts) ||
      (s.failurePercentage !== undefined && n >= s.failurePercentage.minimumHosts);
    if (!needed) for (const r of this.#records.values()) if (r.multiplier > 0) needed = true;
    if (!needed) {
      if (this.#interval !== undefined) this.#clock.clearTimeout(this.#interval);
      this.#interval = undefined;
      return;
    }
    if (this.#interval !== undefined) return;
    // A fresh interval starts with fresh counts (they may have piled up while idle).
    for (const r of this.#records.values()) r.successes = r.failures = 0;
    this.#interval = this.#clock.setTimeout(() => {
      this.#interval = undefined;
      this.runInterval();
      this.#arm();
    }, s.intervalMs);
  }

  #eject(endpoint: E, r: Record, reason: string, probe: boolean): void {
    if (this.#disposed) return;
    const allowed = Math.max(1, Math.floor((this.#records.size * this.settings.maxEjectionPercent) / 100));
    if (this.#ejectedCount >= allowed) return;
    const s = this.settings;
    r.ejected = true;
    r.multiplier++;
    this.#ejectedCount++;
    const durationMs = Math.min(s.baseEjectionTimeMs * r.multiplier, Math.max(s.baseEjectionTimeMs, s.maxEjectionTimeMs));
    r.ejectedUntil = this.#clock.now() + durationMs;
    this.#arm();
    r.timer = this.#clock.setTimeout(() => {
      r.timer = undefined;
      this.#restore(endpoint, r, 'timer');
    }, durationMs);
    const probing = probe && this.#probe !== undefined;
    if (probing) {
      r.probeRun = ++this.#probeRuns;
      const p = CONNECT_PROBE;
      r.probeDelayMs = Math.min(p.firstDelayMs * 2 ** Math.min(r.multiplier - 1, 30), p.maxDelayMs);
      this.#scheduleProbe(endpoint, r);
    }
    this.#listener.ejected(endpoint, reason, durationMs, probing);
  }

  /** Schedules the next connect probe, unless the ejection's own timer comes first. */
  #scheduleProbe(endpoint: E, r: Record): void {
    const delay = r.probeDelayMs;
    if (this.#clock.now() + delay >= r.ejectedUntil) return;
    const run = r.probeRun;
    r.probeTimer = this.#clock.setTimeout(() => {
      r.probeTimer = undefined;
      const answered = (ok: boolean): void => {
        // Closed, forgotten, restored or ejected anew since: the answer is stale.
        if (this.#disposed || r.probeRun !== run || this.#records.get(endpoint) !== r) return;
        if (ok) {
          this.#restore(endpoint, r, 'probe');
          return;
        }
        r.probeDelayMs = Math.min(delay * 2, CONNECT_PROBE.maxDelayMs);
        this.#scheduleProbe(endpoint, r);
      };
      let pending: Promise<boolean>;
      try {
        pending = this.#probe!(endpoint, CONNECT_PROBE.timeoutMs);
      } catch {
        pending = Promise.resolve(false);
      }
      pending.then(answered, () => answered(false));
    }, delay);
  }

  /** Ends an ejection: its timer fired or a connect probe succeeded. The multiplier stays. */
  #restore(endpoint: E, r: Record, by: RestoredBy): void {
    this.#stopTimers(r);
    r.ejected = false;
    r.restoredAt = this.#clock.now();
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.consecutiveLocal = 0;
    this.#ejectedCount--;
    this.#listener.restored(endpoint, by);
  }

  /** Clears an endpoint's ejection timer and probe (a probe in flight is then ignored). */
  #stopTimers(r: Record): void {
    if (r.timer !== undefined) this.#clock.clearTimeout(r.timer);
    if (r.probeTimer !== undefined) this.#clock.clearTimeout(r.probeTimer);
    r.timer = undefined;
    r.probeTimer = undefined;
    r.probeRun = 0;
  }
}

function fresh(): Record {
  return {
    consecutive5xx: 0,
    consecutiveGateway: 0,
    consecutiveLocal: 0,
    successes: 0,
    failures: 0,
    ejected: false,
    multiplier: 0,
    ejectedUntil: 0,
    restoredAt: -Infinity,
    timer: undefined,
    probeTimer: undefined,
    probeDelayMs: 0,
    probeRun: 0,
  };
}
