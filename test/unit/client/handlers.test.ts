import { Writable } from 'node:stream';
import { stream } from 'undici';
import { describe, expect, it } from 'vitest';
import { MeshClient } from '../../../src/index.js';
import { startServer } from '../../helpers/servers.js';

/**
 * The caller's handler is called directly when it speaks undici 7's legacy
 * API (`request`, `stream`, `fetch`), with the raw headers undici keeps, and
 * through DecoratorHandler when it speaks v2: both must see the same
 * response, repeated headers and trailers included.
 */
describe('caller handlers: legacy and v2', () => {
  async function setup() {
    const server = await startServer('h', (_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-Mixed-Case', 'yes');
      res.setHeader('trailer', 'x-checksum');
      res.writeHead(203, 'Custom Reason', { 'content-type': 'text/plain' });
      res.write('hello ');
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end('world');
    });
    const mesh = new MeshClient({ services: { svc: { endpoints: [server.url] } } });
    return { server, mesh };
  }

  it('request (legacy handler): status, repeated headers, body and trailers as sent', async () => {
    const { server, mesh } = await setup();
    try {
      const res = await mesh.request('http://svc/x');
      expect(res.statusCode).toBe(203);
      expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(res.headers['x-mixed-case']).toBe('yes');
      expect(await res.body.text()).toBe('hello world');
      expect(res.trailers).toEqual({ 'x-checksum': 'abc' });
    } finally {
      await mesh.close();
      await server.close();
    }
  });

  it('fetch (legacy handler): repeated headers and status text', async () => {
    const { server, mesh } = await setup();
    try {
      const res = await mesh.fetch('http://svc/x');
      expect([res.status, res.statusText]).toEqual([203, 'Custom Reason']);
      expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
      expect(await res.text()).toBe('hello world');
    } finally {
      await mesh.close();
      await server.close();
    }
  });

  it('stream (legacy handler) and a v2 handler through dispatch see the same response', async () => {
    const { server, mesh } = await setup();
    try {
      const chunks: Buffer[] = [];
      const seen = await stream(
        'http://svc/x',
        { dispatcher: mesh.dispatcher, method: 'GET' },
        ({ statusCode, headers }) => {
          expect([statusCode, headers['set-cookie']]).toEqual([203, ['a=1', 'b=2']]);
          return new Writable({
            write(chunk: Buffer, _enc, cb) {
              chunks.push(chunk);
              cb();
            },
          });
        },
      );
      expect(seen.trailers).toEqual({ 'x-checksum': 'abc' });
      expect(Buffer.concat(chunks).toString()).toBe('hello world');

      const v2 = await new Promise<{ status: number; cookies: unknown; body: string; trailers: unknown }>((resolve, reject) => {
        const parts: Buffer[] = [];
        let status = 0;
        let cookies: unknown;
        class V2 {
          onRequestStart(): void {}
          onResponseStart(_c: unknown, statusCode: number, headers: Record<string, unknown>): void {
            status = statusCode;
            cookies = headers['set-cookie'];
          }
          onResponseData(_c: unknown, chunk: Buffer): void {
            parts.push(chunk);
          }
          onResponseEnd(_c: unknown, trailers: unknown): void {
            resolve({ status, cookies, body: Buffer.concat(parts).toString(), trailers });
          }
          onResponseError(_c: unknown, error: Error): void {
            reject(error);
          }
        }
        mesh.dispatcher.dispatch({ origin: 'http://svc', path: '/x', method: 'GET' }, new V2());
      });
      expect(v2).toEqual({ status: 203, cookies: ['a=1', 'b=2'], body: 'hello world', trailers: { 'x-checksum': 'abc' } });
    } finally {
      await mesh.close();
      await server.close();
    }
  });
});
