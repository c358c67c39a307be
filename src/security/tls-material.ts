import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { describe } from '../util/describe.js';
import type { ConfigIssue } from '../errors/mesh-error.js';

/** A validated `TlsSource`: a value, or a file path. */
export type ResolvedSource = { readonly file: string } | { readonly value: string | Buffer };

/** The three pieces of TLS material a service may have. */
export type MaterialField = 'ca' | 'cert' | 'key';
const FIELDS: readonly MaterialField[] = ['ca', 'cert', 'key'];

/** Where each piece of material comes from. */
export type MaterialSources = Readonly<Partial<Record<MaterialField, ResolvedSource>>>;

/** Loaded, validated material: what a connection uses. */
export interface TlsMaterial {
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  /** The leaf certificate's expiry (ms since the epoch), when there is one. */
  readonly notAfter?: number | undefined;
}

/** Checks one {@link TlsSource}; records an issue and returns undefined when it is not one. */
export function checkSource(value: unknown, path: string, issues: ConfigIssue[]): ResolvedSource | undefined {
  if (typeof value === 'string') {
    if (value.trim() === '') issues.push({ path, message: 'expected PEM text, found an empty string' });
    return { value };
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { value: Buffer.isBuffer(value) ? value : Buffer.from(value) };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const file = (value as { file?: unknown }).file;
    if (keys.length === 1 && typeof file === 'string' && file !== '') return { file };
  }
  issues.push({ path, message: `expected PEM text, a Buffer or { file: "path" }, found ${describe(value)}` });
  return undefined;
}

/** The files among `sources`, by field. */
export function sourceFiles(sources: MaterialSources): string[] {
  const files: string[] = [];
  for (const f of FIELDS) {
    const s = sources[f];
    if (s && 'file' in s) files.push(s.file);
  }
  return files;
}

/** Reads every source synchronously (at configuration time). Problems go to `issues` under `path.<field>`. */
export function readSourcesSync(sources: MaterialSources, path: string, issues: ConfigIssue[]): RawMaterial {
  const raw: RawMaterial = {};
  for (const f of FIELDS) {
    const s = sources[f];
    if (!s) continue;
    if ('value' in s) raw[f] = Buffer.from(s.value);
    else {
      try {
        raw[f] = readFileSync(s.file);
      } catch (error) {
        issues.push({ path: `${path}.${f}`, message: `cannot read ${s.file}: ${(error as Error).message}` });
      }
    }
  }
  return raw;
}

/** Reads every source asynchronously (on rotation). Throws the first read error, naming the file. */
export async function readSources(sources: MaterialSources): Promise<RawMaterial> {
  const raw: RawMaterial = {};
  await Promise.all(
    FIELDS.map(async (f) => {
      const s = sources[f];
      if (!s) return;
      if ('value' in s) raw[f] = Buffer.from(s.value);
      else {
        try {
          raw[f] = await readFile(s.file);
        } catch (error) {
          throw new Error(`cannot read ${f} file ${s.file}: ${(error as Error).message}`, { cause: error });
        }
      }
    }),
  );
  return raw;
}

/** Material as read, not yet validated. */
export type RawMaterial = Partial<Record<MaterialField, Buffer>>;

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Validates material: every certificate parses, the CA bundle holds at least
 * one certificate, the leaf is within its validity period at `now`, the key
 * parses and belongs to the leaf, and OpenSSL accepts the whole set. Problems
 * go to `issues` under `path.<field>`.
 */
export function validateMaterial(
  raw: RawMaterial,
  minVersion: 'TLSv1.2' | 'TLSv1.3',
  now: number,
  path: string,
  issues: ConfigIssue[],
): TlsMaterial | undefined {
  const before = issues.length;
  if (raw.ca) {
    const blocks = raw.ca.toString('latin1').match(PEM_CERT) ?? [];
    if (blocks.length === 0) issues.push({ path: `${path}.ca`, message: 'expected at least one PEM certificate' });
    for (const [i, block] of blocks.entries()) {
      try {
        new X509Certificate(block);
      } catch (error) {
        issues.push({ path: `${path}.ca`, message: `certificate ${i + 1} of the bundle does not parse: ${(error as Error).message}` });
      }
    }
  }
  let leaf: X509Certificate | undefined;
  if (raw.cert) {
    const first = raw.cert.toString('latin1').match(PEM_CERT)?.[0];
    try {
      if (!first) throw new Error('no PEM certificate found');
      leaf = new X509Certificate(first);
      const from = Date.parse(leaf.validFrom);
      const to = Date.parse(leaf.validTo);
      if (now < from) issues.push({ path: `${path}.cert`, message: `the certificate is not valid before ${leaf.validFrom}` });
      if (now > to) issues.push({ path: `${path}.cert`, message: `the certificate expired on ${leaf.validTo}` });
    } catch (error) {
      issues.push({ path: `${path}.cert`, message: `the certificate does not parse: ${(error as Error).message}` });
    }
  }
  let key: KeyObject | undefined;
  if (raw.key) {
    try {
      key = createPrivateKey(raw.key);
    } catch (error) {
      issues.push({ path: `${path}.key`, message: `the private key does not parse: ${(error as Error).message}` });
    }
  }
  if (leaf && key && !leaf.checkPrivateKey(key)) {
    issues.push({ path: `${path}.key`, message: 'the private key does not belong to the certificate' });
  }
  if (issues.length > before) return undefined;
  try {
    createSecureContext({ ca: raw.ca, cert: raw.cert, key: raw.key, minVersion });
  } catch (error) {
    issues.push({ path, message: `OpenSSL refuses the material: ${(error as Error).message}` });
    return undefined;
  }
  return Object.freeze({ ca: raw.ca, cert: raw.cert, key: raw.key, notAfter: leaf ? Date.parse(leaf.validTo) : undefined });
}

/** True when two raw materials hold the same bytes. */
export function sameRaw(a: RawMaterial, b: RawMaterial): boolean {
  return FIELDS.every((f) => {
    const x = a[f];
    const y = b[f];
    return x === undefined ? y === undefined : y !== undefined && x.equals(y);
  });
}
