import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers, interceptors, request as undiciRequest, fetch as undiciFetch, type Dispatcher } from 'undici';
import { MeshClient, isMeshError } from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/servers.js';
import { rejection } from '../../helpers/rejection.js';

const SECRET = {
  authorization: 'Bearer top-secret',
  cookie: 'session=abc',
  'proxy-authorization': 'Basic cHJveHk6c2VjcmV0',
};

/** Sends a raw dispatch through the mesh dispatcher and resolves with the error it ends with (or the status). */
function rawDispatch(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions): Promise<{ status?: number; error?: Error }> {
  return new Promise((resolve) => {
    dispatcher.dispatch(opts, {
      onRequestStart() {},
      onResponseStart(_c, status) {
        resolve({ status });
      },
      onResponseData() {},
      onResponseEnd() {},
      onResponseError(_c, error) {
        resolve({ error });
      },
    });
  });
}

describe('header hygiene (the CVE classes of HTTP clients)', () => {
  let a: TestServer; // service "a": redirects
  let b: TestServer; // service "b": the redirect target
  let outside: TestServer; // not a service: reached as an external origin
  let mesh: MeshClient;

  beforeAll(async () => {
    b = await startServer('b');
    outside = await startServer('outside');
    a = await startServer('a', (req, res) => {
      const to = new URL(req.url ?? '/', 'http://a').searchParams.get('to');
      if (to) {
        res.writeHead(Number(new URL(req.url ?? '/', 'http://a').searchParams.get('status') ?? 302), { location: to });
        res.end();
      } else res.end('a');
    });
    mesh = new MeshClient({
      services: { a: { endpoints: [a.url] }, b: { endpoints: [b.url] } },
    });
  });
  afterAll(async () => {
    await mesh.close();
    await Promise.all([a.close(), b.close(), outside.close()]);
  });

  const redirect = (to: string, status = 302): string => `http://a/r?status=${status}&to=${encodeURIComponent(to)}`;

  describe('CVE-2022-31151 / CVE-2023-45143 / CVE-2024-24758 / CVE-2024-30260: credentials across origins on redirect', () => {
    it.each([301, 302, 303, 307, 308])('mesh.fetch drops Authorization, Cookie and Proxy-Authorization on a %d to another service', async (status) => {
      const before = b.requests.length;
      const res = await mesh.fetch(redirect('http://b/landing', status), { headers: SECRET });
      expect(await res.text()).toBe('b');
      const seen = b.requests.slice(before);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.url).toBe('/landing');
      expect(seen[0]?.headers.host).toBe('b');
      for (const name of Object.keys(SECRET)) expect(seen[0]?.headers[name]).toBeUndefined();
      // The first hop did carry them: they were there to drop.
      expect(a.requests.at(-1)?.headers.authorization).toBe(SECRET.authorization);
    });

    it('mesh.fetch drops them on a redirect to an external origin (egress)', async () => {
      const before = outside.requests.length;
      const res = await mesh.fetch(redirect(`${outside.url}/x`), { headers: SECRET });
      expect(await res.text()).toBe('outside');
      const seen = outside.requests.slice(before);
      expect(seen).toHaveLength(1);
      for (const name of Object.keys(SECRET)) expect(seen[0]?.headers[name]).toBeUndefined();
    });

    it('fetch with the mesh dispatcher (third door) and a Headers object drops them too', async () => {
      const before = b.requests.length;
      const res = await undiciFetch(redirect('http://b/third'), { headers: new Headers(SECRET), dispatcher: mesh.dispatcher });
      expect(await res.text()).toBe('b');
      for (const name of Object.keys(SECRET)) expect(b.requests[before]?.headers[name]).toBeUndefined();
    });

    it('undici.request with the redirect interceptor over the mesh dispatcher drops them across services', async () => {
      const dispatcher = mesh.dispatcher.compose(interceptors.redirect({ maxRedirections: 3 }));
      const before = b.requests.length;
      const res = await undiciRequest(redirect('http://b/intercepted'), { headers: SECRET, dispatcher });
      expect(await res.body.text()).toBe('b');
      const seen = b.requests.slice(before);
      expect(seen.map((r) => r.url)).toEqual(['/intercepted']);
      for (const name of Object.keys(SECRET)) expect(seen[0]?.headers[name]).toBeUndefined();
    });

    it('keeps them on a redirect within the same service (same origin), as fetch specifies', async () => {
      const before = a.requests.length;
      const res = await mesh.fetch(redirect('http://a/home'), { headers: SECRET });
      expect(await res.text()).toBe('a');
      const second = a.requests.slice(before)[1];
      expect(second?.url).toBe('/home');
      expect(second?.headers.authorization).toBe(SECRET.authorization);
    });

    it('a service credential hook never follows a redirect to another service', async () => {
      const hooked = new MeshClient({
        services: {
          a: { endpoints: [a.url], auth: () => ({ authorization: 'Bearer for-a-only' }) },
          b: { endpoints: [b.url] },
        },
      });
      const beforeA = a.requests.length;
      const beforeB = b.requests.length;
      const res = await hooked.fetch(redirect('http://b/landing'));
      expect(await res.text()).toBe('b');
      expect(a.requests[beforeA]?.headers.authorization).toBe('Bearer for-a-only');
      expect(b.requests[beforeB]?.headers.authorization).toBeUndefined();
      await hooked.close();
    });
  });

  describe('CVE-2022-31150 / CVE-2023-23936: CRLF injection', () => {
    const injections: [string, Record<string, string>][] = [
      ['a CRLF in a value', { 'x-note': 'ok\r\nx-injected: 1' }],
      ['a bare LF in a value', { 'x-note': 'ok\nx-injected: 1' }],
      ['a NUL in a value', { 'x-note': 'ok\0' }],
      ['a CRLF in a name', { 'x-note\r\nx-injected': '1' }],
      ['a CRLF in the Host header', { host: 'a\r\nx-injected: 1' }],
    ];

    it.each(injections)('mesh.request refuses %s before sending (MESH_INVALID_REQUEST)', async (_name, headers) => {
      const before = a.requests.length;
      const error = await rejection(mesh.request('http://a/x', { headers }));
      expect(isMeshError(error, 'MESH_INVALID_REQUEST')).toBe(true);
      expect(a.requests.length).toBe(before);
    });

    it.each(injections)('the dispatcher door refuses %s before sending', async (_name, headers) => {
      const before = a.requests.length;
      const { error } = await rawDispatch(mesh.dispatcher, { origin: 'http://a', path: '/x', method: 'GET', headers });
      expect(isMeshError(error, 'MESH_INVALID_REQUEST')).toBe(true);
      // Flat arrays are checked the same way.
      const flat = Object.entries(headers).flat();
      const r2 = await rawDispatch(mesh.dispatcher, { origin: 'http://a', path: '/x', method: 'GET', headers: flat });
      expect(isMeshError(r2.error, 'MESH_INVALID_REQUEST')).toBe(true);
      expect(a.requests.length).toBe(before);
    });

    it('requests undici refuses (hop-by-hop headers it manages) fail as MESH_INVALID_REQUEST too, not as upstream failures', async () => {
      const before = a.requests.length;
      for (const headers of [{ 'transfer-encoding': 'chunked' }, { upgrade: 'websocket' }, { 'keep-alive': 'timeout=5' }, { 'content-length': 'abc' }, { expect: '100-continue' }]) {
        const error = await rejection(mesh.request('http://a/x', { headers }));
        expect([Object.keys(headers)[0], (error as { code?: string }).code]).toEqual([Object.keys(headers)[0], 'MESH_INVALID_REQUEST']);
      }
      expect(a.requests.length).toBe(before);
    });

    it('refuses them for egress requests too', async () => {
      const before = outside.requests.length;
      const error = await rejection(mesh.request(`${outside.url}/x`, { headers: { 'x-note': 'ok\r\nx-injected: 1' } }));
      expect(isMeshError(error, 'MESH_INVALID_REQUEST')).toBe(true);
      expect(outside.requests.length).toBe(before);
    });

    it('mesh.fetch: the Headers class refuses them (a TypeError) and nothing is sent', async () => {
      const before = a.requests.length;
      const error = await rejection(mesh.fetch('http://a/x', { headers: { 'x-note': 'ok\r\nx-injected: 1' } }));
      expect(error).toBeInstanceOf(TypeError);
      expect(a.requests.length).toBe(before);
    });

    it('refuses a path with CR, LF, space or NUL', async () => {
      for (const path of ['/x\r\nx-injected: 1', '/x y', '/x\0']) {
        const { error } = await rawDispatch(mesh.dispatcher, { origin: 'http://a', path, method: 'GET' });
        expect(isMeshError(error, 'MESH_INVALID_REQUEST')).toBe(true);
      }
    });

    it('the Host header is the service\'s, whatever the caller sets', async () => {
      const before = a.requests.length;
      await (await mesh.request('http://a/x', { headers: { Host: 'evil.example', HOST: 'evil2.example' } })).body.dump();
      await (await mesh.fetch('http://a/y', { headers: { host: 'evil.example' } })).text();
      const { status } = await rawDispatch(mesh.dispatcher, {
        origin: 'http://a',
        path: '/z',
        method: 'GET',
        headers: ['host', 'evil.example', 'x-ok', '1'],
      });
      expect(status).toBe(200);
      expect(a.requests.slice(before).map((r) => r.headers.host)).toEqual(['a', 'a', 'a']);
    });
  });

  describe('CVE-2022-35949: an absolute URL or //host in the path cannot leave the service', () => {
    it.each(['http://evil.example/x', 'https://evil.example/x', '//evil.example/x', 'evil.example/x', ''])(
      'the dispatcher door refuses the path %j',
      async (path) => {
        const before = a.requests.length + outside.requests.length;
        const { error } = await rawDispatch(mesh.dispatcher, { origin: 'http://a', path, method: 'GET' });
        expect(isMeshError(error, 'MESH_INVALID_REQUEST')).toBe(true);
        const egress = await rawDispatch(mesh.dispatcher, { origin: outside.url, path, method: 'GET' });
        expect(isMeshError(egress.error, 'MESH_INVALID_REQUEST')).toBe(true);
        expect(a.requests.length + outside.requests.length).toBe(before);
      },
    );

    it('mesh.request and mesh.fetch keep the path on the service, even with //host in it', async () => {
      const error = await rejection(mesh.request('http://a//evil.example/x'));
      expect(isMeshError(error, 'MESH_INVALID_REQUEST')).toBe(true);
      const fetchError = await rejection(mesh.fetch('http://a//evil.example/x'));
      expect(isMeshError(fetchError, 'MESH_INVALID_REQUEST')).toBe(true);
      const before = a.requests.length;
      // An absolute URL after the first "/" is just a path segment on the service.
      await (await mesh.request('http://a/http://evil.example/x')).body.dump();
      expect(a.requests.slice(before).map((r) => [r.url, r.headers.host])).toEqual([['/http://evil.example/x', 'a']]);
    });
  });
});
