// mTLS with workload identities between two services.
//
// The example makes its own CA and certificates at run time (with the
// @peculiar/x509 dev dependency; in production they come from your CA, e.g.
// SPIRE or cert-manager, as files that proxyless watches). It starts:
//   - "orders" and "billing": HTTPS servers that require a client certificate
//     and admit only the SPIFFE ID of "web" (proxyless/server),
//   - an impostor that has a valid certificate of the same CA but another ID,
// and a MeshClient acting as "web", which calls both services over mTLS and
// refuses the impostor (MESH_PEER_IDENTITY).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as x509 from '@peculiar/x509';
import { MeshClient, isMeshError } from 'proxyless';
import { peerIdentity, serverTlsOptions, spiffeAuthorizer } from 'proxyless/server';

x509.cryptoProvider.set(webcrypto as never);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TD = 'example.org';
const id = (sa: string): string => `spiffe://${TD}/ns/prod/sa/${sa}`;

// ---- a tiny CA, made now, valid for an hour ----
const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
const caCert = await x509.X509CertificateGenerator.createSelfSigned({
  name: 'CN=example CA',
  notBefore: new Date(Date.now() - 60_000),
  notAfter: new Date(Date.now() + 3_600_000),
  signingAlgorithm: ALG,
  keys: caKeys,
  extensions: [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
  ],
});
const ca = caCert.toString('pem');

async function workload(spiffeId: string): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=workload',
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}

// ---- two services that admit only "web" ----
async function service(name: string, spiffeId: string): Promise<{ server: Server; url: string }> {
  const authorize = spiffeAuthorizer({ allow: [id('web')] });
  const server = createServer(serverTlsOptions({ ca, ...(await workload(spiffeId)) }), (req, res) => {
    if (!authorize(req, res)) return; // 403 sent
    res.end(`${name} answered ${peerIdentity(req)}`);
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const orders = await service('orders', id('orders'));
const billing = await service('billing', id('billing'));
const impostor = await service('impostor', id('impostor'));

// ---- the client: workload "web" ----
const web = await workload(id('web'));
const mesh = new MeshClient({
  // One trust bundle and client certificate for all services; each service says who its servers must be.
  defaults: { tls: { ca, cert: web.cert, key: web.key } },
  services: {
    orders: { endpoints: [orders.url], tls: { identity: { allow: [id('orders')] } } },
    billing: { endpoints: [billing.url], tls: { identity: { allow: [id('billing')] } } },
    // "payments" is served by billing's identity, but its endpoint is an impostor.
    payments: { endpoints: [impostor.url], tls: { identity: { allow: [id('billing')] } } },
  },
  egress: 'deny',
});
mesh.on('health', (e) => {
  if (e.type === 'peer-identity-rejected') console.log(`health event: ${e.type} ${e.service} ${e.endpoint}: ${e.reason}`);
});

let failures = 0;
for (const svc of ['orders', 'billing']) {
  const res = await mesh.fetch(`https://${svc}/hello`);
  const text = await res.text();
  console.log(`GET https://${svc}/hello -> ${res.status} "${text}"`);
  if (res.status !== 200 || !text.includes(id('web'))) failures++;
}
try {
  await mesh.request('https://payments/charge');
  console.log('GET https://payments/charge -> reached the impostor (unexpected)');
  failures++;
} catch (error) {
  const code = isMeshError(error) ? error.code : String(error);
  console.log(`GET https://payments/charge -> refused: ${code}`);
  if (code !== 'MESH_PEER_IDENTITY') failures++;
}

// A client with a valid certificate but another identity is refused by the servers (403).
const stranger = new MeshClient({
  services: { orders: { endpoints: [orders.url], tls: { ca, ...(await workload(id('stranger'))), identity: { allow: [id('orders')] } } } },
});
const denied = await stranger.request('https://orders/hello');
await denied.body.dump();
console.log(`stranger -> GET https://orders/hello -> ${denied.statusCode}`);
if (denied.statusCode !== 403) failures++;

await Promise.all([mesh.close(), stranger.close()]);
for (const s of [orders, billing, impostor]) s.server.close();
console.log(failures === 0 ? 'mtls example: ok' : `mtls example: ${failures} unexpected results`);
process.exit(failures === 0 ? 0 : 1);
