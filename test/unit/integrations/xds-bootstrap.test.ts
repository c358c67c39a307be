import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MeshConfigError } from '../../../src/index.js';
import { loadBootstrap, parseBootstrap } from '../../../src/integrations/xds/bootstrap.js';

/** The shape istio-agent writes for proxyless gRPC (GRPC_XDS_BOOTSTRAP in a pod). */
const ISTIO = {
  xds_servers: [{ server_uri: 'unix:///etc/istio/proxy/XDS', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
  node: {
    id: 'sidecar~10.244.0.7~orders-6d8f9.shop~shop.svc.cluster.local',
    metadata: { GENERATOR: 'grpc', INSTANCE_IPS: '10.244.0.7', NAMESPACE: 'shop', CLUSTER_ID: 'Kubernetes' },
    locality: {},
    UserAgentVersionType: null,
  },
  certificate_providers: {
    default: {
      plugin_name: 'file_watcher',
      config: {
        certificate_file: '/var/lib/istio/data/cert-chain.pem',
        private_key_file: '/var/lib/istio/data/key.pem',
        ca_certificate_file: '/var/lib/istio/data/root-cert.pem',
        refresh_interval: '900s',
      },
    },
  },
  server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
};

function issuesOf(fn: () => unknown): readonly { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MeshConfigError);
    return (error as MeshConfigError).issues;
  }
  throw new Error('expected a MeshConfigError');
}

async function issuesOfAsync(p: Promise<unknown>): Promise<readonly { path: string; message: string }[]> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MeshConfigError);
  return (error as MeshConfigError).issues;
}

describe('xDS bootstrap (gRPC format)', () => {
  it('reads the bootstrap istio-agent writes, unknown keys and all', () => {
    const b = parseBootstrap(ISTIO);
    expect(b.servers).toEqual([{ uri: 'unix:///etc/istio/proxy/XDS', credentials: { type: 'insecure', config: {} }, features: ['xds_v3'], ignoreResourceDeletion: false }]);
    expect(b.node.id).toBe('sidecar~10.244.0.7~orders-6d8f9.shop~shop.svc.cluster.local');
    expect(b.node.metadata).toMatchObject({ GENERATOR: 'grpc', NAMESPACE: 'shop' });
    expect(b.certificateProviders.default).toEqual({
      plugin: 'file_watcher',
      certificateFile: '/var/lib/istio/data/cert-chain.pem',
      privateKeyFile: '/var/lib/istio/data/key.pem',
      caCertificateFile: '/var/lib/istio/data/root-cert.pem',
      refreshMs: 900_000,
    });
    expect(b.listenerNameTemplate).toBe('%s');
  });

  it('uses the first channel credentials it supports, and reads server features', () => {
    const b = parseBootstrap({
      xds_servers: [
        {
          server_uri: 'trafficdirector.googleapis.com:443',
          channel_creds: [{ type: 'google_default' }, { type: 'tls', config: { ca_certificate_file: '/ca.pem' } }],
          server_features: ['xds_v3', 'ignore_resource_deletion', 'something_new'],
        },
        { server_uri: 'fallback:15010', channel_creds: [{ type: 'insecure' }] },
      ],
      client_default_listener_resource_name_template: 'xdstp://example.org/envoy.config.listener.v3.Listener/%s',
    });
    expect(b.servers.map((s) => [s.uri, s.credentials.type, s.ignoreResourceDeletion])).toEqual([
      ['trafficdirector.googleapis.com:443', 'tls', true],
      ['fallback:15010', 'insecure', false],
    ]);
    expect(b.servers[0]!.credentials.config).toEqual({ ca_certificate_file: '/ca.pem' });
    expect(b.listenerNameTemplate).toBe('xdstp://example.org/envoy.config.listener.v3.Listener/%s');
    expect(b.node).toEqual({ id: '', cluster: '', locality: { region: undefined, zone: undefined, subZone: undefined }, metadata: {} });
  });

  it('names every problem with its path', () => {
    expect(issuesOf(() => parseBootstrap({})).map((i) => i.path)).toEqual(['bootstrap']);
    expect(issuesOf(() => parseBootstrap({ xds_servers: [] })).map((i) => i.path)).toEqual(['bootstrap.xds_servers']);
    const issues = issuesOf(() =>
      parseBootstrap({
        xds_servers: [{ server_uri: 'cp:15010', channel_creds: [{ type: 'google_default' }] }],
        certificate_providers: {
          half: { plugin_name: 'file_watcher', config: { certificate_file: '/c.pem' } },
          empty: { plugin_name: 'file_watcher', config: {} },
          slow: { plugin_name: 'file_watcher', config: { ca_certificate_file: '/ca.pem', refresh_interval: '10 minutes' } },
          other: { plugin_name: 'meshca', config: {} },
        },
      }),
    );
    expect(issues).toEqual([
      { path: 'bootstrap.xds_servers.0.channel_creds', message: 'no supported channel credentials (supported: insecure, tls; found google_default)' },
      { path: 'bootstrap.certificate_providers.half.config', message: 'certificate_file and private_key_file go together' },
      {
        path: 'bootstrap.certificate_providers.empty.config',
        message: 'a file_watcher provider needs certificate_file and private_key_file, ca_certificate_file, or both',
      },
      expect.objectContaining({ path: 'bootstrap.certificate_providers.slow.config.refresh_interval' }),
    ]);
  });

  it('loads from a path, GRPC_XDS_BOOTSTRAP (first), or GRPC_XDS_BOOTSTRAP_CONFIG', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xds-'));
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(ISTIO));
    const inline = JSON.stringify({ xds_servers: [{ server_uri: 'inline:1', channel_creds: [{ type: 'insecure' }] }] });
    expect((await loadBootstrap(file, {})).servers[0]!.uri).toBe('unix:///etc/istio/proxy/XDS');
    expect((await loadBootstrap(undefined, { GRPC_XDS_BOOTSTRAP: file, GRPC_XDS_BOOTSTRAP_CONFIG: inline })).servers[0]!.uri).toBe(
      'unix:///etc/istio/proxy/XDS',
    );
    expect((await loadBootstrap(undefined, { GRPC_XDS_BOOTSTRAP_CONFIG: inline })).servers[0]!.uri).toBe('inline:1');
    expect((await loadBootstrap(ISTIO, {})).node.metadata).toMatchObject({ CLUSTER_ID: 'Kubernetes' });
  });

  it('says what is wrong with a missing, unreadable or malformed bootstrap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xds-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "xds_servers": [');
    expect((await issuesOfAsync(loadBootstrap(undefined, {})))[0]!.message).toMatch(/^no xDS bootstrap: .*GRPC_XDS_BOOTSTRAP/);
    expect((await issuesOfAsync(loadBootstrap(join(dir, 'absent.json'), {})))[0]!.message).toMatch(/^cannot read the bootstrap .*absent\.json: ENOENT/);
    expect((await issuesOfAsync(loadBootstrap(undefined, { GRPC_XDS_BOOTSTRAP: bad })))[0]!.message).toMatch(
      /^the bootstrap GRPC_XDS_BOOTSTRAP \(.*bad\.json\) is not JSON: /,
    );
    expect((await issuesOfAsync(loadBootstrap(undefined, { GRPC_XDS_BOOTSTRAP_CONFIG: '{' })))[0]!.message).toMatch(
      /^the bootstrap GRPC_XDS_BOOTSTRAP_CONFIG is not JSON: /,
    );
  });
});
