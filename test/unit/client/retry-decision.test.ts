import { describe, expect, it } from 'vitest';
import type { ResolvedRetry } from '../../../src/resilience/options.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import {
  backoffDelay,
  mayHedge,
  mayResend,
  retryRefusal,
  statusRetryDelay,
  type RetryFacts,
} from '../../../src/client/request/retry-decision.js';
import { TestClock } from '../../../src/testing/index.js';

/** The retry decision is a pure function of plain values: tested here without sockets, a mesh or timers. */
describe('retry decision', () => {
  function policy(retry: Record<string, unknown>): ResolvedRetry {
    const config = resolveConfig({ services: { s: { endpoints: ['http://127.0.0.1:1'], retry } } });
    return config.services.get('s')!.resilience.retry!;
  }
  /** A retry that every check allows; each case changes one fact. */
  const allowed: RetryFacts = {
    committed: false,
    ended: false,
    resendable: true,
    bodyReplayable: true,
    delayMs: 10,
    tries: 1,
    maxAttempts: 3,
    now: 1_000,
    deadline: Infinity,
  };
  /** A budget that records each withdrawal asked of it. */
  function budget(grants: boolean): { tryWithdraw(): boolean; asked: number } {
    return {
      asked: 0,
      tryWithdraw() {
        this.asked++;
        return grants;
      },
    };
  }

  it('sends a retry every check allows, taking one from the budget', () => {
    const b = budget(true);
    expect(retryRefusal(allowed, b)).toBeUndefined();
    expect(retryRefusal(allowed, undefined)).toBeUndefined();
    expect(b.asked).toBe(1);
  });

  it('names each refusal, and asks the budget only when everything else allows the retry', () => {
    const cases: [Partial<RetryFacts>, string][] = [
      [{ committed: true }, 'committed'],
      [{ resendable: false }, 'non-idempotent'],
      [{ resendable: false, bodyReplayable: false }, 'body-not-replayable'],
      [{ delayMs: undefined }, 'retry-after'],
      [{ ended: true }, 'cancelled'],
      [{ tries: 3 }, 'attempts'],
      [{ deadline: 1_010 }, 'deadline'],
    ];
    for (const [change, reason] of cases) {
      const b = budget(true);
      expect([reason, retryRefusal({ ...allowed, ...change }, b)]).toEqual([reason, reason]);
      expect([reason, b.asked]).toEqual([reason, 0]);
    }
    const exhausted = budget(false);
    expect(retryRefusal(allowed, exhausted)).toBe('budget');
    expect(exhausted.asked).toBe(1);
  });

  it('checks in a fixed order: committed, method and body, Retry-After, cancelled, attempts, deadline, budget', () => {
    const everything: RetryFacts = { ...allowed, committed: true, resendable: false, delayMs: undefined, ended: true, tries: 9, deadline: 0 };
    const order: string[] = [];
    let facts = everything;
    const steps: Partial<RetryFacts>[] = [{ committed: false }, { resendable: true }, { delayMs: 10 }, { ended: false }, { tries: 1 }, { deadline: Infinity }];
    order.push(String(retryRefusal(facts, budget(false))));
    for (const step of steps) {
      facts = { ...facts, ...step };
      order.push(String(retryRefusal(facts, budget(false))));
    }
    expect(order).toEqual(['committed', 'non-idempotent', 'retry-after', 'cancelled', 'attempts', 'deadline', 'budget']);
  });

  it('the deadline refuses a retry whose wait would reach it, not one that ends before', () => {
    expect(retryRefusal({ ...allowed, now: 1_000, delayMs: 10, deadline: 1_011 }, undefined)).toBeUndefined();
    expect(retryRefusal({ ...allowed, now: 1_000, delayMs: 10, deadline: 1_010 }, undefined)).toBe('deadline');
  });

  it('resends after something was sent only for a method the policy retries; an unsent request whatever its method', () => {
    const retry = policy({ attempts: 3 });
    expect([mayResend(retry, 'GET', true, true), mayResend(retry, 'POST', true, true), mayResend(retry, 'POST', true, false)]).toEqual([true, false, true]);
    expect([mayResend(retry, 'GET', false, true), mayResend(retry, 'GET', false, false)]).toEqual([false, false]);
    const anyMethod = policy({ attempts: 3, retryNonIdempotent: true });
    expect(mayResend(anyMethod, 'POST', true, true)).toBe(true);
  });

  it('hedges idempotent methods with replayable bodies (the policy decides when there is one)', () => {
    expect([mayHedge(undefined, 'GET', true), mayHedge(undefined, 'POST', true), mayHedge(undefined, 'GET', false)]).toEqual([true, false, false]);
    expect(mayHedge(policy({ attempts: 2, retryNonIdempotent: true }), 'POST', true)).toBe(true);
  });

  it('waits a full-jitter backoff, or what Retry-After asks on a 503 or 429 up to retryAfterMaxMs', () => {
    const retry = policy({ attempts: 3, backoff: { baseMs: 100, maxMs: 1_000 }, retryAfterMaxMs: 5_000 });
    const half = () => 0.5;
    expect([backoffDelay(retry, 1, half), backoffDelay(retry, 2, half), backoffDelay(retry, 3, half)]).toEqual([50, 100, 200]);
    expect(backoffDelay(policy({ attempts: 3, backoff: false }), 1, half)).toBe(0);
    const clock = new TestClock();
    expect(statusRetryDelay(retry, 503, { 'retry-after': '2' }, 1, clock, half)).toBe(2_000);
    expect(statusRetryDelay(retry, 429, { 'retry-after': '9' }, 1, clock, half)).toBeUndefined();
    expect(statusRetryDelay(retry, 502, { 'retry-after': '2' }, 1, clock, half)).toBe(50);
    expect(statusRetryDelay(retry, 503, {}, 2, clock, half)).toBe(100);
  });
});
