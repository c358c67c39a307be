/**
 * The security options (`tls`, `requireTls`'s material, `egress`): their
 * schema fragment, which src/config/schema.ts composes into the
 * configuration's. The resolver is src/security/config.ts.
 */
import { Type } from '@sinclair/typebox';
import { code, described, int, oneOf, opt, str } from '../util/schema-blocks.js';


/** Certificate or key material: PEM text (or a Buffer, in code), or `{ file }`. */
export const TLS_SOURCE_SCHEMA = Type.Union(
  [
    Type.String({ description: 'PEM text.' }),
    code<Buffer>('buffer', 'PEM bytes (code only).'),
    Type.Object(
      {
        /** Path of a PEM file. */
        file: str('Path of a PEM file (read, and watched for rotation).'),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'PEM text, or `{ file }` to read (and watch) a file.' },
);

/** `tls.identity`: the SPIFFE identity servers must prove. */
export const IDENTITY_SCHEMA = Type.Object(
  {
    /** Accept only IDs of this trust domain, e.g. `example.org`. */
    trustDomain: opt(str('Accept only IDs of this trust domain, e.g. `example.org`.')),
    /** Accept only these SPIFFE IDs, e.g. `spiffe://example.org/ns/prod/sa/orders`. */
    allow: opt(Type.Array(str('A SPIFFE ID.'), { description: 'Accept only these SPIFFE IDs.' })),
  },
  { description: 'SPIFFE identity the servers must prove (implies requireTls; needs ca).', additionalProperties: false },
);

/** `tls.watch` as an object. */
export const TLS_WATCH_SCHEMA = Type.Object(
  {
    /** Wait this long after a change event before reloading, in ms (files are often written in steps). Default 100. */
    debounceMs: opt(int('Wait this long after a change before reloading, ms.', 0, undefined, 100)),
    /** Re-read the files this often, in ms (at least 10), whatever `fs.watch` says (it misses events on some file systems). Default 5,000. */
    pollMs: opt(int('Re-read the files this often, ms.', 10, undefined, 5_000)),
  },
  { description: 'How certificate files are watched.', additionalProperties: false },
);

/** `tls`: TLS and mTLS for `https://` endpoints. */
export const TLS_SCHEMA = Type.Object(
  {
    /** Trusted CA certificates (PEM bundle). Default: Node's root certificates. */
    ca: opt(TLS_SOURCE_SCHEMA),
    /** The client certificate chain (PEM), for mTLS. Requires `key`. */
    cert: opt(TLS_SOURCE_SCHEMA),
    /** The private key of `cert` (PEM). Requires `cert`. */
    key: opt(TLS_SOURCE_SCHEMA),
    /**
     * The name sent in SNI and, without an identity, checked against the
     * server certificate. Default: the endpoint's host name (none for an IP
     * address, whose certificate must then list that IP).
     */
    servername: opt(str('SNI and the name checked in the certificate. Default: the endpoint host.')),
    /** Lowest TLS version accepted. Default 'TLSv1.2'. */
    minVersion: opt(oneOf('Lowest TLS version.', ['TLSv1.2', 'TLSv1.3'], 'TLSv1.2')),
    /** Workload identity the servers must prove; see {@link IdentityOptions}. Implies `requireTls`; needs `ca`. */
    identity: opt(IDENTITY_SCHEMA),
    /**
     * Watch `{ file }` sources and rotate to new material when they change.
     * Default `true` when any source is a file; `false` turns it off.
     */
    watch: opt(Type.Union([Type.Boolean(), TLS_WATCH_SCHEMA], { description: 'Reload `{ file }` material when files change. Default true when a source is a file.' })),
  },
  { description: 'TLS and mTLS for `https://` endpoints. See docs/security.md.', additionalProperties: false },
);

/** `egress` with an allow-list. */
export const EGRESS_POLICY_SCHEMA = Type.Object(
  {
    /** Only `'deny'` (the default): everything not listed is refused. */
    mode: opt(Type.Literal('deny', { description: "Only 'deny': everything not listed is refused." })),
    /** Hosts that may be reached directly. */
    allow: Type.Array(str('A host, an IP address or `*.example.org`.'), { description: 'Hosts that may be reached directly.' }),
  },
  { additionalProperties: false },
);

/** `egress`. */
export const EGRESS_SCHEMA = Type.Union(
  [Type.Literal('allow'), Type.Literal('deny'), EGRESS_POLICY_SCHEMA],
  described("Unknown hosts: 'allow', 'deny', or `{ mode: 'deny', allow: [hosts] }`.", 'allow'),
);
