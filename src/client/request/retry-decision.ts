import type { IncomingHttpHeaders } from 'node:http';
import type { ResolvedRetry } from '../../resilience/options.js';
import { fullJitterDelay, parseRetryAfter } from '../../resilience/backoff.js';
import { methodRetriable } from '../../resilience/retry-policy.js';
import type { Clock } from '../../util/clock.js';

/** Methods hedged without a retry policy to say which are safe to send twice. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Why a retry that the request's policy asks for is not sent: the `reason`
 * of a `retry-refused` metric event (`committed` never reaches one: the
 * engine does not ask once the caller has the response).
 */
export type RetryRefusal =
  | 'committed'
  | 'non-idempotent'
  | 'body-not-replayable'
  | 'retry-after'
  | 'cancelled'
  | 'attempts'
  | 'deadline'
  | 'budget';

/** What a retry decision reads: plain values the engine gathers when a failed attempt meets a retry condition. */
export interface RetryFacts {
  /** The caller's handler has the response: the request is committed, never sent again. */
  readonly committed: boolean;
  /** The request was cancelled or ended meanwhile. */
  readonly ended: boolean;
  /** The request may be sent again after this failure: see {@link mayResend}. */
  readonly resendable: boolean;
  /** The request's body can be sent again (it names the refusal when `resendable` is false). */
  readonly bodyReplayable: boolean;
  /** The wait before the retry; undefined when the server's `Retry-After` asks for more than `retryAfterMaxMs`. */
  readonly delayMs: number | undefined;
  /** Attempts sent that count toward the policy's `attempts` (requeues do not). */
  readonly tries: number;
  /** The policy's `attempts`. */
  readonly maxAttempts: number;
  /** The mesh clock's `now()`. */
  readonly now: number;
  /** When the total deadline expires on the same clock (`Infinity` without one). */
  readonly deadline: number;
}

/** The retry budget as the decision sees it: a withdrawal that may be refused. */
export interface RetryAllowance {
  /** Takes one retry from the budget; false when it is exhausted. */
  tryWithdraw(): boolean;
}

/**
 * Why the retry may not be sent, or undefined when it may. The checks run in
 * a fixed order: committed, the request's method and body, `Retry-After`,
 * cancelled, attempts left, time left before the deadline; the budget is
 * asked last, as it is the only check that takes something (a withdrawal).
 */
export function retryRefusal(facts: RetryFacts, budget: RetryAllowance | undefined): RetryRefusal | undefined {
  if (facts.committed) return 'committed';
  if (!facts.resendable) return facts.bodyReplayable ? 'non-idempotent' : 'body-not-replayable';
  if (facts.delayMs === undefined) return 'retry-after';
  if (facts.ended) return 'cancelled';
  if (facts.tries >= facts.maxAttempts) return 'attempts';
  if (facts.now + facts.delayMs >= facts.deadline) return 'deadline';
  if (budget !== undefined && !budget.tryWithdraw()) return 'budget';
  return undefined;
}

/**
 * May a request be sent again after a failed attempt? Only with a
 * replayable body (`replayable`: a string, bytes or a body function, and
 * not an upgrade); and, when something may have reached the server
 * (`sent`), only for a method the policy retries.
 */
export function mayResend(retry: ResolvedRetry, method: string, replayable: boolean, sent: boolean): boolean {
  return replayable && (!sent || methodRetriable(retry, method));
}

/**
 * May a request be hedged? A replayable body, and a method the retry policy
 * retries after sending (without a policy: an idempotent method).
 */
export function mayHedge(retry: ResolvedRetry | undefined, method: string, replayable: boolean): boolean {
  return replayable && (retry ? methodRetriable(retry, method) : IDEMPOTENT.has(method));
}

/** The full-jitter backoff before the retry that follows `attempts` sent attempts (0 without backoff). */
export function backoffDelay(retry: ResolvedRetry, attempts: number, random: () => number): number {
  const backoff = retry.backoff;
  return backoff ? fullJitterDelay(backoff.baseMs, backoff.maxMs, attempts - 1, random) : 0;
}

/**
 * The wait before retrying a response with `status`: the server's
 * `Retry-After` on a 503 or 429 when it has one (undefined when above
 * `retryAfterMaxMs`: then no retry), else {@link backoffDelay}.
 */
export function statusRetryDelay(
  retry: ResolvedRetry,
  status: number,
  headers: IncomingHttpHeaders,
  attempts: number,
  clock: Clock,
  random: () => number,
): number | undefined {
  if (status === 503 || status === 429) {
    const after = parseRetryAfter(headers['retry-after'], clock.wallNow());
    if (after !== undefined) return after > retry.retryAfterMaxMs ? undefined : after;
  }
  return backoffDelay(retry, attempts, random);
}
