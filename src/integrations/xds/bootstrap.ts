/**
 * The xDS bootstrap: gRPC's format (the file istio-agent and Traffic
 * Director write for proxyless gRPC), read from a path, a parsed object, or
 * the environment (`GRPC_XDS_BOOTSTRAP`, then `GRPC_XDS_BOOTSTRAP_CONFIG`, as
 * gRPC reads them). Keys gRPC would ignore are ignored, so such a file works
 * unchanged; what proxyless cannot use (no supported channel credentials, a
 * file_watcher provider without its files) is a {@link MeshConfigError}
 * naming the path.
 */
import { readFile } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { MeshConfigError, type ConfigIssue } from '../../errors/mesh-error.js';
import { opt, str } from '../../util/schema-blocks.js';
import { schemaIssues } from '../../util/schema-issues.js';

/** A gRPC duration in JSON form: seconds with an `s`, e.g. `'600s'` or `'1.5s'`. */
const DURATION = Type.String({ pattern: '^\\d+(\\.\\d{1,9})?s$', expects: "a duration like '600s'" });

const CHANNEL_CREDS_SCHEMA = Type.Object({ type: str('A channel credentials type.'), config: opt(Type.Object({}, { additionalProperties: true })) });

const SERVER_SCHEMA = Type.Object({
  server_uri: str('The xDS server: a gRPC target URI (host:port, dns:///host:port, unix:///path).'),
  channel_creds: Type.Array(CHANNEL_CREDS_SCHEMA, { minItems: 1, description: 'Credentials to try, in order: the first supported one is used.' }),
  server_features: opt(Type.Array(Type.String(), { description: 'Features of the server; unknown ones are ignored.' })),
});

const NODE_SCHEMA = Type.Object({
  id: opt(Type.String({ description: 'Opaque identifier of this client.' })),
  cluster: opt(Type.String({ description: 'The local service cluster.' })),
  locality: opt(Type.Object({ region: opt(Type.String()), zone: opt(Type.String()), sub_zone: opt(Type.String()) })),
  metadata: opt(Type.Object({}, { additionalProperties: true })),
});

const CERTIFICATE_PROVIDER_SCHEMA = Type.Object({
  plugin_name: str('The provider plugin, e.g. file_watcher.'),
  config: opt(Type.Object({}, { additionalProperties: true })),
});

const FILE_WATCHER_SCHEMA = Type.Object({
  certificate_file: opt(str('The certificate chain, PEM.')),
  private_key_file: opt(str('The private key, PEM.')),
  ca_certificate_file: opt(str('The trust bundle, PEM.')),
  refresh_interval: opt(DURATION),
});

/** The bootstrap as JSON (gRPC's field names); keys gRPC ignores are allowed. */
const BOOTSTRAP_SCHEMA = Type.Object({
  xds_servers: Type.Array(SERVER_SCHEMA, { minItems: 1, description: 'The xDS servers, in order of preference.' }),
  node: opt(NODE_SCHEMA),
  certificate_providers: opt(Type.Record(Type.String(), CERTIFICATE_PROVIDER_SCHEMA)),
  client_default_listener_resource_name_template: opt(Type.String()),
});

type BootstrapJson = Static<typeof BOOTSTRAP_SCHEMA>;

/** Channel credentials proxyless can dial an xDS server with. */
export const SUPPORTED_CHANNEL_CREDS = Object.freeze(['insecure', 'tls'] as const);

/** How to reach one xDS server. */
export interface XdsServer {
  /** A gRPC target URI. */
  readonly uri: string;
  /** The first of the server's `channel_creds` proxyless supports, with its config (`tls`: file paths). */
  readonly credentials: { readonly type: (typeof SUPPORTED_CHANNEL_CREDS)[number]; readonly config: Readonly<Record<string, unknown>> };
  /** `server_features`, as given. */
  readonly features: readonly string[];
  /** `ignore_resource_deletion` (gRFC A53): a deleted resource keeps serving. */
  readonly ignoreResourceDeletion: boolean;
}

/** A `file_watcher` certificate provider (gRFC A29): files read and re-read every `refreshMs`. */
export interface FileWatcherProvider {
  readonly plugin: 'file_watcher';
  readonly certificateFile: string | undefined;
  readonly privateKeyFile: string | undefined;
  readonly caCertificateFile: string | undefined;
  /** Default 600,000 (gRPC's 10 minutes). */
  readonly refreshMs: number;
}

/** A parsed, checked bootstrap. */
export interface XdsBootstrap {
  readonly servers: readonly XdsServer[];
  /** The node identity sent to the server (gRPC's `node`, ids and metadata as given). */
  readonly node: {
    readonly id: string;
    readonly cluster: string;
    readonly locality: { readonly region?: string; readonly zone?: string; readonly subZone?: string };
    readonly metadata: Readonly<Record<string, unknown>>;
  };
  /** Certificate providers by instance name; only `file_watcher` ones (others cannot be used and are left out). */
  readonly certificateProviders: Readonly<Record<string, FileWatcherProvider>>;
  /** How a request's authority becomes an LDS listener name; `%s` is the authority. Default '%s'. */
  readonly listenerNameTemplate: string;
}

const DEFAULT_REFRESH_MS = 600_000;

/**
 * Checks a bootstrap object (gRPC's JSON form) and gives it back in
 * proxyless's terms. Throws {@link MeshConfigError} listing every problem,
 * with paths under `base` (e.g. `bootstrap.xds_servers.0.channel_creds`).
 */
export function parseBootstrap(input: unknown, base = 'bootstrap'): XdsBootstrap {
  const issues = schemaIssues(input, BOOTSTRAP_SCHEMA, base);
  if (issues.length > 0) throw new MeshConfigError(issues);
  const json = input as BootstrapJson;
  const servers = json.xds_servers.map((s, i): XdsServer | undefined => {
    const creds = s.channel_creds.find((c) => (SUPPORTED_CHANNEL_CREDS as readonly string[]).includes(c.type));
    if (!creds) {
      issues.push({
        path: `${base}.xds_servers.${i}.channel_creds`,
        message: `no supported channel credentials (supported: ${SUPPORTED_CHANNEL_CREDS.join(', ')}; found ${s.channel_creds.map((c) => c.type).join(', ')})`,
      });
      return undefined;
    }
    const features = s.server_features ?? [];
    return Object.freeze({
      uri: s.server_uri,
      credentials: Object.freeze({ type: creds.type as XdsServer['credentials']['type'], config: Object.freeze({ ...(creds.config ?? {}) }) }),
      features: Object.freeze([...features]),
      ignoreResourceDeletion: features.includes('ignore_resource_deletion'),
    });
  });
  const providers: Record<string, FileWatcherProvider> = {};
  for (const [name, p] of Object.entries(json.certificate_providers ?? {})) {
    if (p.plugin_name !== 'file_watcher') continue;
    const path = `${base}.certificate_providers.${name}.config`;
    const found = schemaIssues(p.config ?? {}, FILE_WATCHER_SCHEMA, path);
    const c = (p.config ?? {}) as Static<typeof FILE_WATCHER_SCHEMA>;
    if (found.length === 0 && c.certificate_file === undefined && c.ca_certificate_file === undefined) {
      found.push({ path, message: 'a file_watcher provider needs certificate_file and private_key_file, ca_certificate_file, or both' });
    }
    if (found.length === 0 && (c.certificate_file === undefined) !== (c.private_key_file === undefined)) {
      found.push({ path, message: 'certificate_file and private_key_file go together' });
    }
    issues.push(...found);
    if (found.length > 0) continue;
    providers[name] = Object.freeze({
      plugin: 'file_watcher',
      certificateFile: c.certificate_file,
      privateKeyFile: c.private_key_file,
      caCertificateFile: c.ca_certificate_file,
      refreshMs: c.refresh_interval === undefined ? DEFAULT_REFRESH_MS : Math.round(Number(c.refresh_interval.slice(0, -1)) * 1000),
    });
  }
  const template = json.client_default_listener_resource_name_template ?? '%s';
  if (issues.length > 0) throw new MeshConfigError(issues);
  const node = json.node ?? {};
  return Object.freeze({
    servers: Object.freeze(servers as XdsServer[]),
    node: Object.freeze({
      id: node.id ?? '',
      cluster: node.cluster ?? '',
      locality: Object.freeze({ region: node.locality?.region, zone: node.locality?.zone, subZone: node.locality?.sub_zone }),
      metadata: Object.freeze({ ...(node.metadata ?? {}) }),
    }),
    certificateProviders: Object.freeze(providers),
    listenerNameTemplate: template,
  });
}

/** Where a bootstrap comes from: a path, the parsed object, or (undefined) the environment as gRPC reads it. */
export type BootstrapSource = string | Record<string, unknown> | undefined;

/**
 * Reads and checks a bootstrap: `source` as a file path or an object, else
 * the file `GRPC_XDS_BOOTSTRAP` names, else the JSON in
 * `GRPC_XDS_BOOTSTRAP_CONFIG`. Every failure (no source, an unreadable file,
 * JSON that does not parse, a bootstrap proxyless cannot use) is a
 * {@link MeshConfigError} naming where.
 */
export async function loadBootstrap(source?: BootstrapSource, env: NodeJS.ProcessEnv = process.env): Promise<XdsBootstrap> {
  if (typeof source === 'object' && source !== null) return parseBootstrap(source);
  const path = source ?? env.GRPC_XDS_BOOTSTRAP;
  if (path !== undefined && path !== '') {
    const where = source === undefined ? `GRPC_XDS_BOOTSTRAP (${path})` : path;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new MeshConfigError([{ path: 'bootstrap', message: `cannot read the bootstrap ${where}: ${(error as Error).message}` }]);
    }
    return parseBootstrap(parseJson(text, where));
  }
  const inline = env.GRPC_XDS_BOOTSTRAP_CONFIG;
  if (inline !== undefined && inline !== '') return parseBootstrap(parseJson(inline, 'GRPC_XDS_BOOTSTRAP_CONFIG'));
  throw new MeshConfigError([
    { path: 'bootstrap', message: 'no xDS bootstrap: give its path or object, or set GRPC_XDS_BOOTSTRAP (a file) or GRPC_XDS_BOOTSTRAP_CONFIG (its JSON)' },
  ]);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const issue: ConfigIssue = { path: 'bootstrap', message: `the bootstrap ${where} is not JSON: ${(error as Error).message}` };
    throw new MeshConfigError([issue]);
  }
}
