import { Agent, request } from 'undici';
import { described, int, opt } from '../../util/schema-blocks.js';
import { Type } from '@sinclair/typebox';
import { defaultsOf } from '../../util/schema-defaults.js';

/** Connection settings shared by etcd discovery and registration. */
export interface EtcdConnectionOptions {
  /** etcd client URLs, tried in order. Default `['http://127.0.0.1:2379']`. */
  endpoints?: string[];
  /** Time one unary call may take, in milliseconds. Default 5,000. */
  timeoutMs?: number;
}

/** The properties of {@link EtcdConnectionOptions}' schema, shared by the option schemas that extend it. */
export const ETCD_CONNECTION_PROPERTIES = {
  /** etcd client URLs, tried in order. Default ['http://127.0.0.1:2379']. */
  endpoints: opt(
    Type.Array(Type.String({ pattern: '^https?://[^/?#]+', expects: 'an etcd client URL (http:// or https://)' }), {
      minItems: 1,
      ...described('etcd client URLs, tried in order.', ['http://127.0.0.1:2379']),
    }),
  ),
  /** Time one unary call may take, in milliseconds. Default 5,000. */
  timeoutMs: opt(int('Time one call may take, ms.', 1, undefined, 5_000)),
};

const DEFAULTS = defaultsOf(Type.Object(ETCD_CONNECTION_PROPERTIES)) as { endpoints: string[]; timeoutMs: number };

/** An etcd key-value as the JSON gateway returns it (base64 key and value). */
export interface GatewayKv {
  key?: string;
  value?: string;
  mod_revision?: string;
  lease?: string;
}

/** One message of a watch stream. */
export interface GatewayWatchResult {
  header?: { revision?: string };
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: { type?: 'PUT' | 'DELETE'; kv?: GatewayKv }[];
}

/** Base64 of a UTF-8 string. */
export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
/** UTF-8 string of base64. */
export const unb64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

/** The `range_end` that selects every key starting with `prefix`. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.subarray(0, i + 1);
      end[i]!++;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

/**
 * A minimal client of etcd's JSON gRPC gateway (`/v3/...`, etcd 3.4+) over
 * undici: unary calls and newline-delimited watch streams. It moves to the
 * next endpoint when one fails.
 */
export class EtcdGateway {
  readonly #endpoints: string[];
  readonly #timeoutMs: number;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 2_000 } });
  #current = 0;

  constructor(options: EtcdConnectionOptions = {}) {
    const endpoints = options.endpoints ?? DEFAULTS.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length === 0) throw new TypeError('etcd: endpoints must be a non-empty array of URLs');
    this.#endpoints = endpoints.map((e) => new URL(e).origin);
    this.#timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  }

  /** The endpoint in use. */
  get endpoint(): string {
    return this.#endpoints[this.#current]!;
  }

  /** A unary call, e.g. `call('/v3/kv/range', { key })`. Tries each endpoint once. */
  async call<T = Record<string, unknown>>(path: string, body: object): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.#endpoints.length; i++) {
      const base = this.#endpoints[this.#current]!;
      try {
        const res = await request(`${base}${path}`, {
          dispatcher: this.#agent,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`etcd ${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
        const parsed = JSON.parse(text) as T & { error?: string };
        if (parsed.error) throw new Error(`etcd ${path}: ${parsed.error}`);
        return parsed;
      } catch (error) {
        last = error;
        this.#current = (this.#current + 1) % this.#endpoints.length;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  /**
   * Opens a watch stream and calls `onResult` for each message until the
   * stream ends (resolves) or fails (rejects). Abort it with `signal`.
   */
  async watch(body: object, onResult: (r: GatewayWatchResult) => void, signal: AbortSignal): Promise<void> {
    const base = this.#endpoints[this.#current]!;
    try {
      const res = await request(`${base}/v3/watch`, {
        dispatcher: this.#agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: 0, // a quiet watch is normal
        signal,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        throw new Error(`etcd watch answered ${res.statusCode}: ${text.slice(0, 200)}`);
      }
      let buffer = '';
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line === '') continue;
          const msg = JSON.parse(line) as { result?: GatewayWatchResult; error?: { message?: string } };
          if (msg.error) throw new Error(`etcd watch: ${msg.error.message ?? JSON.stringify(msg.error)}`);
          if (msg.result) onResult(msg.result);
        }
      }
    } catch (error) {
      this.#current = (this.#current + 1) % this.#endpoints.length;
      throw error;
    }
  }

  /** Closes every connection. */
  close(): Promise<void> {
    return this.#agent.close();
  }
}
