import type {
  AttemptMetricEvent,
  HedgeMetricEvent,
  RejectedMetricEvent,
  RequestMetricEvent,
  RetryBudgetExhaustedMetricEvent,
  RetryMetricEvent,
  RetryRefusedMetricEvent,
} from '../../telemetry/events.js';
import { errorCode } from './errors.js';

/*
 * The metric events of one request, built from plain values. The engine
 * calls these only while `EventBus.wantsMetrics` is true, so nothing is built
 * while no listener, observer or meter wants events. Optional fields are set
 * only when present (an observer sees no `status: undefined`), without
 * spreads (slow to make on Node 20).
 */

/** A writable copy of an event type, to build it field by field. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The end of one attempt's waiting phase: its response status or its error. */
export function attemptEvent(
  requestId: number,
  service: string,
  time: number,
  endpoint: string,
  method: string,
  durationMs: number,
  attempt: number,
  status: number | undefined,
  error: Error | undefined,
): AttemptMetricEvent {
  const event: Mutable<AttemptMetricEvent> = { type: 'attempt', requestId, service, time, endpoint, method, durationMs, attempt };
  if (status !== undefined) event.status = status;
  if (error !== undefined) event.error = errorCode(error);
  return event;
}

/** How a logical request ended, with its outcome worked out from status, error and cancel. */
export function requestEvent(
  requestId: number,
  service: string,
  time: number,
  method: string,
  durationMs: number,
  attempts: number,
  endpoint: string | undefined,
  status: number | undefined,
  error: Error | undefined,
  cancelled: boolean,
  egress: boolean,
): RequestMetricEvent {
  const event: Mutable<RequestMetricEvent> = { type: 'request', requestId, service, time, method, outcome: 'success', durationMs, attempts };
  if (endpoint !== undefined) event.endpoint = endpoint;
  if (status !== undefined) event.status = status;
  if (cancelled) event.outcome = 'cancelled';
  else if (error !== undefined) {
    event.outcome = 'failure';
    event.error = errorCode(error);
  } else if (status !== undefined && status >= 500) event.outcome = 'server_error';
  if (egress) event.egress = true;
  return event;
}

/** A retry is scheduled after `delayMs`. */
export function retryEvent(requestId: number, service: string, time: number, reason: string, delayMs: number, attempt: number): RetryMetricEvent {
  return { type: 'retry', requestId, service, time, reason, delayMs, attempt };
}

/** A retry condition matched but the retry is not sent. */
export function retryRefusedEvent(requestId: number, service: string, time: number, reason: string, attempt: number): RetryRefusedMetricEvent {
  return { type: 'retry-refused', requestId, service, time, reason, attempt };
}

/** The retry budget refused a retry or a hedge. */
export function budgetExhaustedEvent(requestId: number, service: string, time: number): RetryBudgetExhaustedMetricEvent {
  return { type: 'retry-budget-exhausted', requestId, service, time };
}

/** A hedged attempt was sent (to `endpoint`, when one was picked). */
export function hedgeEvent(requestId: number, service: string, time: number, endpoint: string | undefined): HedgeMetricEvent {
  const event: Mutable<HedgeMetricEvent> = { type: 'hedge', requestId, service, time };
  if (endpoint !== undefined) event.endpoint = endpoint;
  return event;
}

/** Refused before any attempt (bulkhead, breaker): `reason` is the error code. */
export function rejectedEvent(requestId: number, service: string, time: number, reason: string): RejectedMetricEvent {
  return { type: 'rejected', requestId, service, time, reason };
}
