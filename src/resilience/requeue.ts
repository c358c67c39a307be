import type { Clock } from '../util/clock.js';
import { RetryBudget } from './retry-budget.js';

/**
 * The limits of requeues, after Finagle's `RequeueFilter`. A requeue resends
 * a request whose attempt failed before anything was sent (a refused or
 * timed-out connect: `nothingSent` in `retry-policy.ts`) to another endpoint.
 * It is safe for every method, since the endpoint never saw the request, so
 * it needs no retry policy: requeues happen with `retry: false` too, for any
 * method, whenever the body can be sent again (`isReplayable`). They are
 * separate from retries: they do not count toward `retry.attempts` and do not
 * withdraw from the retry budget; they have their own per-request cap and
 * per-service budget, so a service whose endpoints all refuse connections
 * cannot turn each request into a storm of connects.
 */
export const REQUEUE_LIMITS = Object.freeze({
  /** Requeues one request may make (each to an endpoint it has not tried while one is left). */
  maxPerRequest: 3,
  /** Requeues allowed as a percentage of the service's requests over `ttlMs`. */
  percent: 50,
  /** Requeues always allowed per second (a bucket holding one second's worth). */
  minPerSecond: 10,
  /** The window of the percentage, in milliseconds. */
  ttlMs: 10_000,
});

/** The per-service requeue budget: a {@link RetryBudget} sized by {@link REQUEUE_LIMITS}, apart from the retry budget. */
export function requeueBudget(clock: Clock): RetryBudget {
  const l = REQUEUE_LIMITS;
  return new RetryBudget({ percent: l.percent, minRetriesPerSecond: l.minPerSecond, ttlMs: l.ttlMs }, clock);
}
