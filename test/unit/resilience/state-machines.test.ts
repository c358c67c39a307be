import { describe, expect, it } from 'vitest';
import { RESILIENCE_DEFAULTS, type ResolvedBreaker, type ResolvedOutlierDetection } from '../../../src/resilience/options.js';
import { CircuitBreaker, type CircuitStateName } from '../../../src/resilience/endpoint-breaker.js';
import { CONNECT_PROBE } from '../../../src/resilience/connect-probe.js';
import { OutlierDetector } from '../../../src/resilience/outlier-detector.js';
import { RetryBudget } from '../../../src/resilience/retry-budget.js';
import { fullJitterDelay, parseRetryAfter } from '../../../src/resilience/backoff.js';
import { manualClock } from '../../helpers/sync-clock.js';

const breakerSettings = (over: Partial<ResolvedBreaker> = {}): ResolvedBreaker => ({
  ...RESILIENCE_DEFAULTS.endpointBreaker!,
  ...over,
});

describe('retry budget (fake clock)', () => {
  it('allows 20% of requests plus a floor of 10/s, and forgets requests after the ttl', () => {
    const clock = manualClock();
    const budget = new RetryBudget({ percent: 20, minRetriesPerSecond: 10, ttlMs: 10_000 }, clock);
    const take = (n: number): number => {
      let got = 0;
      for (let i = 0; i < n; i++) if (budget.tryWithdraw()) got++;
      return got;
    };
    // No requests yet: only the floor (one second's worth).
    expect(take(15)).toBe(10);
    expect(budget.exhausted).toBe(5);
    // 100 requests: 20 retries.
    for (let i = 0; i < 100; i++) budget.deposit();
    expect(take(30)).toBe(20);
    // Half a second later the floor has refilled by 5.
    clock.advance(500);
    expect(take(10)).toBe(5);
    // After the window the requests (and the retries they paid for) expire; the floor is full again.
    clock.advance(10_000);
    expect(budget.toJSON()).toEqual({ requests: 0, retries: 0, available: 10, withdrawn: 10 + 20 + 5, exhausted: 5 + 10 + 5 });
    for (let i = 0; i < 50; i++) budget.deposit();
    expect(take(100)).toBe(10 + 10);
  });
});

describe('backoff', () => {
  it('is full jitter under an exponential cap', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => fullJitterDelay(25, 250, n, () => 0.999))).toEqual([24, 49, 99, 199, 249, 249]);
    expect(fullJitterDelay(25, 250, 3, () => 0)).toBe(0);
  });
  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});

describe('circuit breaker (fake clock)', () => {
  it('consecutive: closed → open → half-open → (probe fails) open → half-open → (probe succeeds) closed', () => {
    const clock = manualClock();
    const log: string[] = [];
    const b = new CircuitBreaker(breakerSettings({ consecutiveFailures: 3, halfOpenAfterMs: 1000 }), clock, (s) =>
      log.push(`${clock.now() - 1000}:${s}`),
    );
    b.failure();
    b.failure();
    b.success(); // resets the run
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.tryAcquire()).toBe(false);
    clock.advance(999);
    expect(b.state).toBe('open');
    clock.advance(1);
    expect(b.tryAcquire()).toBe(true); // the probe
    expect(b.tryAcquire()).toBe(false); // only one
    b.failure(); // the second opening in a row stays open twice as long
    clock.advance(1999);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(b.tryAcquire()).toBe(true);
    b.cancel(); // the probe was abandoned: the slot is free again
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.tryAcquire()).toBe(true);
    expect(log).toEqual(['0:open', '1000:half-open', '1000:open', '3000:half-open', '3000:closed']);
    expect(b.opened).toBe(2);
  });

  it('open time doubles per opening in a row up to maxHalfOpenAfterMs, and starts again after staying closed that long', () => {
    const clock = manualClock();
    const t0 = clock.now();
    const log: string[] = [];
    const b = new CircuitBreaker(
      breakerSettings({ consecutiveFailures: 1, halfOpenAfterMs: 1000, maxHalfOpenAfterMs: 5000 }),
      clock,
      (s) => log.push(`${clock.now() - t0}:${s}`),
    );
    const probe = (ok: boolean) => {
      expect(b.tryAcquire()).toBe(true);
      if (ok) b.success();
      else b.failure();
    };
    expect(b.nextOpenMs).toBe(1000);
    b.failure(); // open for 1 s
    clock.advance(1000);
    probe(false); // open for 2 s
    clock.advance(2000);
    probe(false); // 4 s
    clock.advance(4000);
    probe(false); // 8 s capped at 5 s
    clock.advance(4999);
    expect(b.state).toBe('open');
    clock.advance(1);
    probe(true); // closed at 12 s after 5 s open
    clock.advance(1000);
    expect(b.nextOpenMs).toBe(5000); // closed only 1 s: the streak goes on
    b.failure(); // 13 s: open 5 s
    clock.advance(5000);
    probe(true); // closed at 18 s
    clock.advance(4999);
    expect(b.nextOpenMs).toBe(5000);
    clock.advance(1);
    expect(b.nextOpenMs).toBe(1000); // closed as long as it was last open: the streak is over
    b.failure(); // 23 s: open 1 s
    clock.advance(1000);
    expect(log).toEqual([
      '0:open', '1000:half-open', '1000:open', '3000:half-open', '3000:open', '7000:half-open', '7000:open',
      '12000:half-open', '12000:closed', '13000:open', '18000:half-open', '18000:closed', '23000:open', '24000:half-open',
    ]);
    expect(b.opened).toBe(6);
  });

  it('sampling: opens at the failure rate once the window has enough calls, and forgets old calls', () => {
    const clock = manualClock();
    const states: CircuitStateName[] = [];
    const b = new CircuitBreaker(
      breakerSettings({ mode: 'sampling', failureRatePercent: 50, samplingWindowMs: 10_000, minimumRequests: 10, halfOpenAfterMs: 5000 }),
      clock,
      (s) => states.push(s),
    );
    for (let i = 0; i < 5; i++) b.success();
    for (let i = 0; i < 4; i++) b.failure(); // 4 of 9: too few calls anyway
    expect(b.state).toBe('closed');
    clock.advance(11_000); // the window slides past all of them
    for (let i = 0; i < 6; i++) b.success();
    for (let i = 0; i < 4; i++) b.failure(); // 4 of 10 = 40%
    expect(b.state).toBe('closed');
    b.failure();
    b.failure(); // 6 of 12 = 50%
    expect(b.state).toBe('open');
    clock.advance(5000);
    b.success();
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });
});

describe('outlier detection (fake clock)', () => {
  const settings = (over: Partial<ResolvedOutlierDetection> = {}): ResolvedOutlierDetection => ({
    ...RESILIENCE_DEFAULTS.outlierDetection!,
    ...over,
  });
  const make = (n: number, over: Partial<ResolvedOutlierDetection> = {}) => {
    const clock = manualClock(0);
    const log: string[] = [];
    const endpoints = Array.from({ length: n }, (_, i) => ({ url: `e${i}` }));
    const d = new OutlierDetector<{ url: string }>(settings(over), clock, () => 0, {
      ejected: (e, _reason, ms) => log.push(`${clock.now()}:eject ${e.url} ${ms}`),
      restored: (e) => log.push(`${clock.now()}:restore ${e.url}`),
    });
    d.setEndpoints(endpoints);
    return { clock, log, endpoints, d };
  };

  it('ejects after consecutive 5xx for base × times ejected, capped, and decays the multiplier', () => {
    const { clock, log, endpoints, d } = make(3, {
      consecutive5xx: 3,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 70_000,
      successRate: undefined,
    });
    const [e0] = endpoints;
    const fail = (n: number): void => {
      for (let i = 0; i < n; i++) d.report(e0!, 500);
    };
    fail(2);
    d.report(e0!, 200); // a success resets the run
    fail(2);
    expect(d.isEjected(e0!)).toBe(false);
    fail(1);
    expect(d.isEjected(e0!)).toBe(true);
    clock.advance(30_000); // restored at 30 s
    fail(3); // ejected again: 60 s
    clock.advance(60_000);
    fail(3); // third time: 90 s, capped at 70 s
    clock.advance(70_000);
    // Six quiet intervals bring the multiplier from 3 back to 0 (it stops there).
    clock.advance(60_000);
    expect(d.describe(e0!)).toEqual({ ejected: false, timesEjected: 0 });
    fail(3);
    expect(log).toEqual([
      '0:eject e0 30000',
      '30000:restore e0',
      '30000:eject e0 60000',
      '90000:restore e0',
      '90000:eject e0 70000',
      '160000:restore e0',
      '220000:eject e0 30000',
    ]);
    d.dispose();
  });

  it('never ejects more than maxEjectionPercent, but always at least one', () => {
    const { clock, log, endpoints, d } = make(4, { consecutive5xx: 1, maxEjectionPercent: 10, successRate: undefined });
    for (const e of endpoints) d.report(e, 503);
    expect(d.ejectedCount).toBe(1);
    clock.advance(30_000);
    d.report(endpoints[2]!, 503);
    d.report(endpoints[3]!, 503);
    expect(d.ejectedCount).toBe(1);
    expect(log).toEqual(['0:eject e0 30000', '30000:restore e0', '30000:eject e2 30000']);
    d.dispose();
  });

  it('ejects on success rate and failure percentage at the interval', () => {
    const { clock, log, endpoints, d } = make(6, {
      consecutive5xx: undefined,
      maxEjectionPercent: 50,
      successRate: { stdevFactor: 1.9, enforcementPercent: 100, minimumHosts: 5, requestVolume: 100 },
      failurePercentage: { threshold: 85, enforcementPercent: 100, minimumHosts: 5, requestVolume: 50 },
    });
    // e0: 60% success; e1: 10% success; the rest 100%.
    endpoints.forEach((e, i) => {
      for (let k = 0; k < 100; k++) d.report(e, i === 0 ? (k < 60 ? 200 : 500) : i === 1 ? (k < 10 ? 200 : 500) : 200);
    });
    clock.advance(10_000);
    // mean 0.78, stdev ≈ 0.33: threshold ≈ 0.15 → e1 by success rate; e0 is above it and below 85% failures.
    expect(log).toEqual(['10000:eject e1 30000']);
    // Next interval: only e0 reports, failing 90%: failure-percentage needs 5 hosts with volume, so nothing.
    for (let k = 0; k < 100; k++) d.report(endpoints[0]!, k < 10 ? 200 : 500);
    clock.advance(10_000);
    expect(log).toEqual(['10000:eject e1 30000']);
    // Now everyone reports again; e0 fails 90% → failure percentage ejects it.
    endpoints.forEach((e, i) => {
      for (let k = 0; k < 100; k++) d.report(e, i === 0 ? (k < 10 ? 200 : 500) : 200);
    });
    clock.advance(10_000);
    expect(log).toEqual(['10000:eject e1 30000', '30000:eject e0 30000']);
    d.dispose();
  });
});

describe('outlier detection: connect probes (fake clock)', () => {
  /** Lets probe answers (promises) settle: the detector acts on them in microtasks. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  const make = (answers: (boolean | Promise<boolean>)[], over: Partial<ResolvedOutlierDetection> = {}) => {
    const clock = manualClock(0);
    const log: string[] = [];
    const endpoints = Array.from({ length: 3 }, (_, i) => ({ url: `e${i}` }));
    const probes: string[] = [];
    const d = new OutlierDetector<{ url: string }>(
      { ...RESILIENCE_DEFAULTS.outlierDetection!, consecutive5xx: 3, successRate: undefined, ...over },
      clock,
      () => 0,
      {
        ejected: (e, _reason, ms, probing) => log.push(`${clock.now()}:eject ${e.url} ${ms}${probing ? ' probing' : ''}`),
        restored: (e, by) => log.push(`${clock.now()}:restore ${e.url} by ${by}`),
      },
      {
        connectProbe: (e, timeoutMs) => {
          const answer = answers.shift() ?? false;
          probes.push(`${clock.now()}:probe ${e.url} ${timeoutMs}`);
          return Promise.resolve(answer);
        },
      },
    );
    d.setEndpoints(endpoints);
    return { clock, log, probes, endpoints, d };
  };

  it('the defaults: first probe after 500 ms, doubling to 5 s, 1 s connect timeout', () => {
    expect(CONNECT_PROBE).toEqual({ firstDelayMs: 500, maxDelayMs: 5_000, timeoutMs: 1_000 });
  });

  it('probes an endpoint ejected for refused connects on a growing interval; a successful probe restores it early and keeps the multiplier', async () => {
    const { clock, log, probes, endpoints, d } = make([false, false, true, true]);
    const e0 = endpoints[0]!;
    const refuse = (n: number): void => {
      for (let i = 0; i < n; i++) d.report(e0, undefined, true);
    };
    refuse(3);
    expect(d.describe(e0)).toEqual({ ejected: true, ejectedUntilMs: 30_000, timesEjected: 1, probing: true });
    clock.advance(499);
    await settle();
    expect(probes).toEqual([]);
    clock.advance(1); // 500: first probe, refused
    await settle();
    clock.advance(999);
    await settle();
    expect(probes).toHaveLength(1);
    clock.advance(1); // 1500: second probe (1 s later), refused
    await settle();
    clock.advance(2000); // 3500: third probe (2 s later), accepted
    await settle();
    expect(d.isEjected(e0)).toBe(false);
    expect(d.describe(e0)).toEqual({ ejected: false, timesEjected: 1 });
    expect(log).toEqual(['0:eject e0 30000 probing', '3500:restore e0 by probe']);

    // It flaps: ejected again with the multiplier kept, so for 60 s, and the first probe waits 1 s.
    refuse(3);
    expect(d.describe(e0)).toMatchObject({ ejectedUntilMs: 60_000, timesEjected: 2, probing: true });
    clock.advance(999);
    await settle();
    expect(probes).toHaveLength(3);
    clock.advance(1);
    await settle();
    // Both ejection timers were cancelled: nothing else happens.
    clock.advance(100_000);
    await settle();
    expect(probes).toEqual(['500:probe e0 1000', '1500:probe e0 1000', '3500:probe e0 1000', '4500:probe e0 1000']);
    expect(log).toEqual([
      '0:eject e0 30000 probing',
      '3500:restore e0 by probe',
      '3500:eject e0 60000 probing',
      '4500:restore e0 by probe',
    ]);
    expect(d.ejectedCount).toBe(0);
    d.dispose();
    expect(clock.pending).toBe(0);
  });

  it('caps the probe interval at 5 s and stops probing when the ejection time ends', async () => {
    const { clock, log, probes, endpoints, d } = make([], { baseEjectionTimeMs: 20_000 });
    for (let i = 0; i < 3; i++) d.report(endpoints[0]!, undefined, true);
    for (let t = 0; t < 20_000; t += 100) {
      clock.advance(100);
      await settle();
    }
    // 0.5, 1, 2, 4, then 5 s apart; the next would be at 22.5 s, after the ejection ends at 20 s.
    expect(probes.map((p) => Number(p.split(':')[0]))).toEqual([500, 1500, 3500, 7500, 12_500, 17_500]);
    expect(log).toEqual(['0:eject e0 20000 probing', '20000:restore e0 by timer']);
    d.dispose();
  });

  it('does not probe ejections for 5xx, for resets or at the interval checks: they last their full time', async () => {
    const { clock, log, probes, endpoints, d } = make([true, true, true], {
      consecutive5xx: undefined,
      consecutiveGatewayFailure: 3,
      consecutiveLocalOriginFailure: 3,
      maxEjectionPercent: 100,
      failurePercentage: { threshold: 85, enforcementPercent: 100, minimumHosts: 3, requestVolume: 10 },
    });
    const [e0, e1, e2] = endpoints as [{ url: string }, { url: string }, { url: string }];
    // e0: refused connects, then a 503 ends the gateway-failure run; e1: resets (something was sent).
    d.report(e0, undefined, true);
    d.report(e0, undefined, true);
    d.report(e0, 503);
    for (let i = 0; i < 3; i++) d.report(e1, undefined, false);
    // e2: 18 of 20 tries answer 500 (not a gateway failure); the failure-percentage check ejects it at 10 s.
    for (let i = 0; i < 20; i++) d.report(e2, i < 2 ? 200 : 500);
    for (let i = 0; i < 10; i++) {
      d.report(e0, 200);
      d.report(e1, 200);
    }
    expect(d.describe(e0)).toEqual({ ejected: true, ejectedUntilMs: 30_000, timesEjected: 1 });
    for (let t = 0; t < 40_000; t += 250) {
      clock.advance(250);
      await settle();
    }
    expect(probes).toEqual([]);
    expect(log).toEqual([
      '0:eject e0 30000',
      '0:eject e1 30000',
      '10000:eject e2 30000',
      '30000:restore e0 by timer',
      '30000:restore e1 by timer',
      '40000:restore e2 by timer',
    ]);
    d.dispose();
  });

  it('runs no probe after dispose, and ignores the answer of one in flight', async () => {
    let answer!: (ok: boolean) => void;
    const { clock, log, probes, endpoints, d } = make([new Promise<boolean>((resolve) => (answer = resolve))]);
    for (let i = 0; i < 3; i++) d.report(endpoints[0]!, undefined, true);
    clock.advance(500);
    expect(probes).toEqual(['500:probe e0 1000']);
    d.dispose();
    expect(clock.pending).toBe(0);
    answer(true);
    await settle();
    clock.advance(60_000);
    await settle();
    expect(probes).toHaveLength(1);
    expect(log).toEqual(['0:eject e0 30000 probing']);
  });

  it('forgets the probe of a removed endpoint', async () => {
    const { clock, log, probes, endpoints, d } = make([true]);
    for (let i = 0; i < 3; i++) d.report(endpoints[0]!, undefined, true);
    d.setEndpoints(endpoints.slice(1));
    clock.advance(60_000);
    await settle();
    expect(probes).toEqual([]);
    expect(log).toEqual(['0:eject e0 30000 probing']);
    expect(d.ejectedCount).toBe(0);
    d.dispose();
  });
});
