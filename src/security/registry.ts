import type { EventBus } from '../telemetry/event-bus.js';
import type { Clock } from '../util/clock.js';
import { AuthCache } from './auth.js';
import type { ResolvedServiceSecurity } from './config.js';
import { TlsRuntime, type SecurityReport } from './tls-runtime.js';

/** The security runtime of one service, read by the request path. */
export interface ServiceSecurity {
  /** The TLS runtime for `https://` endpoints, when the service configures `tls`. */
  readonly tls: TlsRuntime | undefined;
  /** The credential cache, when the service has an `auth` hook. */
  readonly auth: AuthCache | undefined;
  /** Plaintext endpoints are refused (`requireTls`, or implied by an identity). */
  readonly requireTls: boolean;
}

/**
 * Owns the TLS runtimes and credential caches of a client, by service. They
 * survive configuration updates while their settings stay the same (so
 * pools, cached credentials and watches carry over) and are replaced when
 * the settings change.
 */
export class SecurityRegistry {
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #tls = new Map<string, TlsRuntime>();
  readonly #auth = new Map<string, AuthCache>();

  constructor(clock: Clock, bus: EventBus) {
    this.#clock = clock;
    this.#bus = bus;
  }

  /** The runtime of `service` for a new configuration. */
  apply(service: string, resolved: ResolvedServiceSecurity): ServiceSecurity {
    let tls = this.#tls.get(service);
    if (tls && tls.config.fingerprint !== resolved.tls?.fingerprint) {
      tls.close();
      this.#tls.delete(service);
      tls = undefined;
    }
    if (!tls && resolved.tls) {
      tls = new TlsRuntime(service, resolved.tls, { clock: this.#clock, report: (s, e) => this.#report(s, e) });
      this.#tls.set(service, tls);
    }
    let auth = this.#auth.get(service);
    if (auth && auth.hook !== resolved.auth) {
      this.#auth.delete(service);
      auth = undefined;
    }
    if (!auth && resolved.auth) {
      auth = new AuthCache(service, resolved.auth, this.#clock);
      this.#auth.set(service, auth);
    }
    return Object.freeze({ tls, auth, requireTls: resolved.requireTls });
  }

  /** Drops the runtimes of services that are gone. */
  retain(services: { has(name: string): boolean }): void {
    for (const [name, tls] of this.#tls) {
      if (services.has(name)) continue;
      tls.close();
      this.#tls.delete(name);
    }
    for (const name of this.#auth.keys()) if (!services.has(name)) this.#auth.delete(name);
  }

  /** The TLS runtime of a service, if it has one. */
  tls(service: string): TlsRuntime | undefined {
    return this.#tls.get(service);
  }

  /** Stops every watch. */
  close(): void {
    for (const tls of this.#tls.values()) tls.close();
    this.#tls.clear();
    this.#auth.clear();
  }

  #report(service: string, event: SecurityReport): void {
    this.#bus.health({ ...event, service, time: this.#clock.wallNow() });
  }
}
