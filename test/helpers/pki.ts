import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate authority made at test time. */
export interface TestCa {
  /** PEM of the CA certificate (the trust bundle). */
  readonly cert: string;
  readonly name: string;
  readonly keys: CryptoKeyPair;
}

/** A leaf certificate and its key, PEM. */
export interface TestCert {
  readonly cert: string;
  readonly key: string;
}

/** What a leaf certificate says about its holder. */
export interface LeafOptions {
  /** URI SANs, e.g. SPIFFE IDs. */
  uris?: string[];
  dns?: string[];
  ips?: string[];
  /** Default 'test-leaf'. */
  commonName?: string;
  /** Milliseconds from now; negative for an expired certificate. Default 1 day. */
  validForMs?: number;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1');
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Creates a self-signed CA, valid from an hour ago for one day. */
export async function createCa(commonName = 'proxyless test CA'): Promise<TestCa> {
  const keys = await keyPair();
  const name = `CN=${commonName}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), name, keys };
}

/** Issues a leaf certificate (server and client auth) signed by `ca`. */
export async function issueCert(ca: TestCa, options: LeafOptions = {}): Promise<TestCert> {
  const keys = await keyPair();
  const names: x509.JsonGeneralName[] = [
    ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const validFor = options.validForMs ?? DAY;
  const notAfter = new Date(Date.now() + validFor);
  const notBefore = new Date(Math.min(Date.now() - 3_600_000, notAfter.getTime() - 3_600_000));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.commonName ?? 'test-leaf'}`,
    issuer: ca.name,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
}
