import { MeshError } from '../errors/mesh-error.js';
import type { Clock } from '../util/clock.js';
import { debugChannel } from '../util/logger.js';
import { isValidHeaderName, isValidHeaderValue } from './headers.js';
import type { AuthHeaders, AuthHook, AuthResult } from './types.js';

const trace = debugChannel('auth');

/** How long headers returned without `expiresAt` are used, in ms. */
export const DEFAULT_AUTH_TTL_MS = 300_000;
/** Refresh this long before expiry at most, in ms (less for short-lived credentials: a fifth of their life). */
const MAX_REFRESH_AHEAD_MS = 30_000;

/** Credentials ready to add: a flat `[name, value, ...]` list with lower-case names. */
export type Credentials = readonly string[];

/**
 * The cache in front of one service's credential hook. {@link AuthCache.current}
 * is synchronous while valid credentials are cached (the hot path); a refresh
 * starts in the background shortly before they expire, and concurrent callers
 * share one pending call of the hook.
 */
export class AuthCache {
  readonly hook: AuthHook;
  readonly #service: string;
  readonly #clock: Clock;
  #value: Credentials | undefined;
  #expiresAt = 0;
  #refreshAt = 0;
  #pending: Promise<Credentials> | undefined;

  constructor(service: string, hook: AuthHook, clock: Clock) {
    this.#service = service;
    this.hook = hook;
    this.#clock = clock;
  }

  /** Cached credentials when still valid (starting a background refresh when due), else undefined. */
  current(): Credentials | undefined {
    const value = this.#value;
    if (value === undefined) return undefined;
    const now = this.#clock.wallNow();
    if (now >= this.#expiresAt) return undefined;
    if (now >= this.#refreshAt && this.#pending === undefined) {
      this.load().catch((error: unknown) => trace('background refresh for %s failed: %s', this.#service, String(error)));
    }
    return value;
  }

  /** Calls the hook (once for all concurrent callers) and caches its answer. Rejects with `MESH_AUTH_FAILED`. */
  load(): Promise<Credentials> {
    this.#pending ??= this.#call().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #call(): Promise<Credentials> {
    let result: AuthHeaders | AuthResult;
    try {
      result = await this.hook(this.#service);
    } catch (error) {
      throw new MeshError('MESH_AUTH_FAILED', `the credential hook of service "${this.#service}" failed: ${String((error as Error)?.message ?? error)}`, {
        cause: error,
        service: this.#service,
      });
    }
    const now = this.#clock.wallNow();
    const normalized = normalize(result, now);
    if (normalized === undefined) {
      throw new MeshError('MESH_AUTH_FAILED', `the credential hook of service "${this.#service}" returned no headers object`, {
        service: this.#service,
      });
    }
    const { headers, expiresAt } = normalized;
    const flat: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string' || !isValidHeaderName(name) || !isValidHeaderValue(value)) {
        throw new MeshError('MESH_AUTH_FAILED', `the credential hook of service "${this.#service}" returned an invalid header "${name}"`, {
          service: this.#service,
        });
      }
      flat.push(name.toLowerCase(), value);
    }
    this.#value = Object.freeze(flat);
    this.#expiresAt = expiresAt;
    this.#refreshAt = expiresAt - Math.min(MAX_REFRESH_AHEAD_MS, (expiresAt - now) / 5);
    trace('credentials for %s cached until %d', this.#service, expiresAt);
    return this.#value;
  }
}

function normalize(result: AuthHeaders | AuthResult, now: number): { headers: AuthHeaders; expiresAt: number } | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Partial<AuthResult>;
  if (typeof r.headers === 'object' && r.headers !== null) {
    const at = r.expiresAt instanceof Date ? r.expiresAt.getTime() : r.expiresAt;
    return { headers: r.headers, expiresAt: typeof at === 'number' && Number.isFinite(at) ? at : now + DEFAULT_AUTH_TTL_MS };
  }
  return { headers: result as AuthHeaders, expiresAt: now + DEFAULT_AUTH_TTL_MS };
}
