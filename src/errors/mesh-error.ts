import type { MeshErrorCode } from './codes.js';

const kMeshError = Symbol.for('proxyless.error');
const kMeshConfigError = Symbol.for('proxyless.error.config');

/** Extra facts attached to a {@link MeshError}. */
export interface MeshErrorDetails {
  /** The underlying error (a transport error, an abort reason...). */
  cause?: unknown;
  /** The service the request was for, when known. */
  service?: string | undefined;
  /** The endpoint (its URL) of the last attempt, when one was chosen. */
  endpoint?: string | undefined;
  /** How many attempts were sent before the error. */
  attempts?: number | undefined;
}

/**
 * The one error type proxyless throws for refusals and transport failures.
 *
 * `code` is stable (see {@link MeshErrorCodes}); `cause` holds the underlying
 * error. `instanceof MeshError` works across duplicate copies of the package
 * (the check uses a `Symbol.for` brand), and so does {@link isMeshError}.
 *
 * @example
 * ```ts
 * try { await mesh.request('http://orders/42'); }
 * catch (e) { if (isMeshError(e) && e.code === 'MESH_NO_HEALTHY_ENDPOINT') { ... } }
 * ```
 */
export class MeshError extends Error {
  /** A stable code from {@link MeshErrorCodes}. */
  readonly code: MeshErrorCode;
  /** The service the request was for, when known. */
  readonly service: string | undefined;
  /** The endpoint URL of the last attempt, when one was chosen. */
  readonly endpoint: string | undefined;
  /** How many attempts were sent before the error (0 when none was sent). */
  readonly attempts: number | undefined;

  constructor(code: MeshErrorCode, message: string, details: MeshErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MeshError';
    this.code = code;
    this.service = details.service;
    this.endpoint = details.endpoint;
    this.attempts = details.attempts;
    Object.defineProperty(this, kMeshError, { value: true });
  }

  /** Brand check, so `instanceof` works across duplicate copies of proxyless. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kMeshError] === true;
  }
}

/** One problem found in a configuration: where it is and what is wrong. */
export interface ConfigIssue {
  /** A dotted path into the configuration, e.g. `services.orders.endpoints.1.weight`. */
  path: string;
  /** What was expected and what was found. */
  message: string;
  /** What the schema takes there, in words (e.g. `an integer >= 1 <= 10`), for issues found by the schema. */
  expected?: string;
  /** What was found there, in words (e.g. `the string "three"`), for issues found by the schema. */
  found?: string;
}

/**
 * Thrown when a configuration is invalid, at construction or by
 * `updateConfig`. It lists every problem at once in {@link MeshConfigError.issues};
 * nothing of the rejected configuration is applied.
 */
export class MeshConfigError extends MeshError {
  /** Every problem found, each naming its path. Never empty. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const head = issues
      .slice(0, 5)
      .map((i) => `${i.path || '(root)'}: ${i.message}`)
      .join('; ');
    const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
    super('MESH_CONFIG_INVALID', `invalid mesh configuration: ${head}${more}`);
    this.name = 'MeshConfigError';
    this.issues = Object.freeze([...issues]);
    Object.defineProperty(this, kMeshConfigError, { value: true });
  }

  /** Brand check, so `instanceof` works across duplicate copies of proxyless. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kMeshConfigError] === true
    );
  }
}

/**
 * True if `value` is a {@link MeshError} (from any copy of proxyless), optionally
 * with the given code.
 */
export function isMeshError(value: unknown, code?: MeshErrorCode): value is MeshError {
  return value instanceof MeshError && (code === undefined || value.code === code);
}

/** True if `value` is a {@link MeshConfigError} (from any copy of proxyless). */
export function isMeshConfigError(value: unknown): value is MeshConfigError {
  return value instanceof MeshConfigError;
}
