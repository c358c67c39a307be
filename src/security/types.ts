/**
 * Public option types of the security features: TLS and mTLS, workload
 * identity, the credential hook and the egress policy.
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

/**
 * Who the servers of a service must be, by workload identity (SPIFFE). The
 * server certificate must carry exactly one URI SAN, a SPIFFE ID that is in
 * `trustDomain` (when set) and in `allow` (when set). At least one of the two
 * is required. With an identity, the SPIFFE check replaces host-name
 * verification (as SPIFFE prescribes); the chain is still verified against
 * {@link TlsOptions.ca}.
 */
export interface IdentityOptions {
  /** Accept only IDs of this trust domain, e.g. `example.org`. */
  trustDomain?: string;
  /** Accept only these SPIFFE IDs, e.g. `spiffe://example.org/ns/prod/sa/orders`. */
  allow?: string[];
}

/** How certificate files are watched for rotation. */
export interface TlsWatchOptions {
  /** Wait this long after a change event before reloading, in ms (files are often written in steps). Default 100. */
  debounceMs?: number;
  /** Re-read the files this often, in ms, whatever `fs.watch` says (it misses events on some file systems). Default 5000. */
  pollMs?: number;
}

/**
 * TLS settings of a service, used for every `https://` endpoint connection.
 * With `cert` and `key` the client presents a certificate (mTLS).
 */
export interface TlsOptions {
  /** Trusted CA certificates (PEM bundle). Default: Node's root certificates. */
  ca?: TlsSource;
  /** The client certificate chain (PEM), for mTLS. Requires `key`. */
  cert?: TlsSource;
  /** The private key of `cert` (PEM). Requires `cert`. */
  key?: TlsSource;
  /**
   * The name sent in SNI and, without an identity, checked against the
   * server certificate. Default: the endpoint's host name (none for an IP
   * address, whose certificate must then list that IP).
   */
  servername?: string;
  /** Lowest TLS version accepted. Default `'TLSv1.2'`. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Workload identity the servers must prove; see {@link IdentityOptions}. Implies `requireTls`; needs `ca`. */
  identity?: IdentityOptions;
  /**
   * Watch `{ file }` sources and rotate to new material when they change.
   * Default `true` when any source is a file; `false` turns it off.
   */
  watch?: boolean | TlsWatchOptions;
}

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
export interface EgressPolicy {
  /** Only `'deny'` (the default): everything not listed is refused. */
  mode?: 'deny';
  /** Hosts that may be reached directly. */
  allow: string[];
}

/** The `egress` option: `'allow'`, `'deny'`, or `'deny'` with an allow-list ({@link EgressPolicy}). */
export type EgressOption = 'allow' | 'deny' | EgressPolicy;
