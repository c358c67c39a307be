/**
 * Public types of the security features that code gives: certificate
 * material, TLS updates and the credential hook. The option types (TLS,
 * identity, egress) are the schema's static types, in src/config/types.ts.
 */

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
