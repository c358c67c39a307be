import type { ResolvedRetry } from './options.js';
import type { RetryCondition } from './schema.js';

/** Transport error codes meaning the connection was never made (nothing was sent). */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'EHOSTDOWN',
]);

/** Transport error codes meaning the connection broke before a response. */
const RESETS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'UND_ERR_CLOSED']);

/** How an attempt failed, as far as retries, breakers and outlier detection care. */
export type FailureKind = 'refused' | 'connect-failure' | 'reset' | 'timeout' | 'other';

/** Classifies a transport error of an attempt. */
export function classifyError(error: Error): FailureKind {
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (typeof code === 'string') {
    if (CONNECT_FAILURES.has(code)) return 'connect-failure';
    if (RESETS.has(code)) return 'reset';
    if (code === 'MESH_TIMEOUT') return 'timeout';
  }
  return 'other';
}

/** True when nothing of the request can have reached the endpoint. */
export function nothingSent(kind: FailureKind): boolean {
  return kind === 'refused' || kind === 'connect-failure';
}

/** The retry condition a failure meets under `policy`, or undefined when it may not be retried. */
export function retryReasonForError(policy: ResolvedRetry, kind: FailureKind): RetryCondition | undefined {
  const on = policy.retryOn;
  switch (kind) {
    case 'refused':
      if (on.has('refused')) return 'refused';
      return on.has('connect-failure') ? 'connect-failure' : undefined;
    case 'connect-failure':
      return on.has('connect-failure') ? 'connect-failure' : undefined;
    case 'reset':
      return on.has('reset') ? 'reset' : undefined;
    case 'timeout':
      return on.has('timeout') ? 'timeout' : undefined;
    default:
      return undefined;
  }
}

/** The retry condition a response status meets under `policy`, or undefined. */
export function retryReasonForStatus(policy: ResolvedRetry, status: number): RetryCondition | undefined {
  const on = policy.retryOn;
  if (status >= 500) {
    if (on.has('5xx')) return '5xx';
    if ((status === 502 || status === 503 || status === 504) && on.has('gateway-error')) return 'gateway-error';
  }
  if (on.has('retriable-status-codes') && policy.retriableStatusCodes.has(status)) return 'retriable-status-codes';
  return undefined;
}

/** A request body the mesh can send again: a string, bytes, or a function that makes the body afresh. */
export function isReplayable(body: unknown): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    typeof body === 'function'
  );
}

/** True when `method` may be retried after something was sent. */
export function methodRetriable(policy: ResolvedRetry, method: string): boolean {
  return policy.retryNonIdempotent || policy.methods.has(method.toUpperCase());
}
