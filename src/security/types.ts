/**
 * Public option types of the security features: TLS and mTLS, workload
 * identity, the credential hook and the egress policy. The option types are
 * the static types of the schemas in src/config/schema.ts.
 */
import type { Static } from '@sinclair/typebox';
import type * as S from '../config/schema.js';

/**
 * Certificate or key material: a PEM string or Buffer, or `{ file }` to read
 * it from disk (and watch it for rotation).
 */
export type TlsSource =
  | string
  | Buffer
  | {
      /** Path of a PEM file. */
      file: string;
    };

/**
 * Who the servers of a service must be, by workload identity (SPIFFE). The
 * server certificate must carry exactly one URI SAN, a SPIFFE ID that is in
 * `trustDomain` (when set) and in `allow` (when set). At least one of the two
 * is required. With an identity, the SPIFFE check replaces host-name
 * verification (as SPIFFE prescribes); the chain is still verified against
 * {@link TlsOptions.ca}.
 */
export interface IdentityOptions extends Static<typeof S.IDENTITY_SCHEMA> {}

/** How certificate files are watched for rotation. */
export interface TlsWatchOptions extends Static<typeof S.TLS_WATCH_SCHEMA> {}

/**
 * TLS settings of a service, used for every `https://` endpoint connection.
 * With `cert` and `key` the client presents a certificate (mTLS).
 */
export interface TlsOptions extends Static<typeof S.TLS_SCHEMA> {}

/** New material pushed with `mesh.updateTls(service, material)`: the given fields replace the current ones. */
export interface TlsMaterialUpdate {
  /** A new CA bundle. */
  ca?: TlsSource;
  /** A new client certificate chain (with `key` unless the key stays the same). */
  cert?: TlsSource;
  /** A new private key. */
  key?: TlsSource;
}

/** Request headers a credential hook adds, by name. */
export type AuthHeaders = Record<string, string>;

/** What a credential hook returns when its credentials expire. */
export interface AuthResult {
  /** The headers to add, e.g. `{ authorization: 'Bearer ...' }`. */
  headers: AuthHeaders;
  /** When they expire: a `Date` or milliseconds since the epoch. Default: 5 minutes after they were obtained. */
  expiresAt?: Date | number;
}

/**
 * A per-service credential hook: returns the headers to add to every request
 * to `service` (for example a bearer token read from a token file or signed
 * as a JWT). Its result is cached until it expires and refreshed in the
 * background shortly before; requests only wait for the hook when nothing
 * valid is cached. A header the caller set itself is never replaced.
 */
export type AuthHook = (service: string) => AuthHeaders | AuthResult | Promise<AuthHeaders | AuthResult>;

/**
 * The egress policy with an allow-list: hosts that are not services are
 * refused, except those listed. A pattern is a host name (`api.stripe.com`),
 * an IP address, or `*.example.org`, which matches any name below
 * `example.org` (not `example.org` itself).
 */
export interface EgressPolicy extends Static<typeof S.EGRESS_POLICY_SCHEMA> {}

/** The `egress` option: `'allow'`, `'deny'`, or `'deny'` with an allow-list ({@link EgressPolicy}). */
export type EgressOption = 'allow' | 'deny' | EgressPolicy;
