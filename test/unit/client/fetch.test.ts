import { Readable } from 'node:stream';
import { FormData as UndiciFormData, Request as UndiciRequest } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, MeshError, isMeshError, type MetricEvent } from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

/** A server that resets the connection of its first `resets` requests (after reading the body), then echoes. */
async function flakyServer(resets = 1): Promise<TestServer> {
  let seen = 0;
  return startServer('flaky', (req, res, body) => {
    if (seen++ < resets) {
      req.socket.destroy();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'] ?? null, body }));
  });
}

describe('mesh.fetch as a drop-in fetch', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function meshFor(servers: string[], extra: Record<string, unknown> = {}): Promise<{ mesh: MeshClient; requests: MetricEvent[] }> {
    const requests: MetricEvent[] = [];
    const mesh = new MeshClient({
      services: { api: { endpoints: servers, retry: { attempts: 3, backoff: false }, outlierDetection: false, ...extra } },
      observers: [{ onMetric: (e) => e.type === 'request' && requests.push(e) }],
    });
    cleanup.push(() => mesh.close());
    return { mesh, requests };
  }

  it('works unbound, as a value handed to a library', async () => {
    const server = await startServer('a');
    cleanup.push(() => server.close());
    const { mesh } = await meshFor([server.url]);
    const { fetch } = mesh;
    const holder = { fetch: mesh.fetch };
    expect(await (await fetch('http://api/x')).text()).toBe('a');
    expect(await (await holder.fetch('http://api/y')).text()).toBe('a');
    expect(await (await Reflect.apply(mesh.fetch, undefined, ['http://api/z'])).text()).toBe('a');
  });

  it("accepts Node's global Request: method, headers, body and signal carry over", async () => {
    const server = await startServer('echo', (req, res, body) => void res.end(`${req.method} ${req.headers['x-a']} ${body}`));
    cleanup.push(() => server.close());
    const { mesh } = await meshFor([server.url]);
    const request = new globalThis.Request('http://api/r?q=1', { method: 'POST', headers: { 'x-a': 'b' }, body: 'payload' });
    expect(request).not.toBeInstanceOf(UndiciRequest);
    const res = await mesh.fetch(request);
    expect(await res.text()).toBe('POST b payload');
    expect(server.requests.at(-1)!.url).toBe('/r?q=1');
    // init overrides the Request's fields, as fetch does
    const res2 = await mesh.fetch(new globalThis.Request('http://api/r', { method: 'POST', body: 'one' }), { method: 'PUT', body: 'two' });
    expect(await res2.text()).toBe('PUT undefined two');
    // its signal aborts
    const controller = new AbortController();
    const hung = await startServer('hung', () => {});
    cleanup.push(() => hung.close());
    const m2 = await meshFor([hung.url]);
    const p = m2.mesh.fetch(new globalThis.Request('http://api/', { signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('retries an idempotent PUT with a string body after a reset (as mesh.request does)', async () => {
    const server = await flakyServer();
    cleanup.push(() => server.close());
    const { mesh, requests } = await meshFor([server.url]);
    const res = await mesh.fetch('http://api/doc', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1 }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ method: 'PUT', type: 'application/json', body: '{"a":1}' });
    expect(server.requests.map((r) => r.body)).toEqual(['{"a":1}', '{"a":1}']);
    expect(requests.at(-1)).toMatchObject({ attempts: 2, status: 200 });
  });

  it('replays every known body kind with the content type fetch would set', async () => {
    const blob = new Blob(['blob-bytes'], { type: 'application/x-blob' });
    const form = new globalThis.FormData();
    form.set('field', 'value');
    form.set('file', new Blob(['file-bytes'], { type: 'text/plain' }), 'f.txt');
    const uform = new UndiciFormData();
    uform.set('u', 'v');
    const cases: [string, unknown, string | null, (body: string, type: string) => void][] = [
      ['string', 'text', 'text/plain;charset=UTF-8', (b) => expect(b).toBe('text')],
      ['ArrayBuffer', new TextEncoder().encode('ab').buffer, null, (b) => expect(b).toBe('ab')],
      ['Uint8Array', new TextEncoder().encode('u8'), null, (b) => expect(b).toBe('u8')],
      ['DataView', new DataView(new TextEncoder().encode('xdvx').buffer, 1, 2), null, (b) => expect(b).toBe('dv')],
      ['Buffer', Buffer.from('buf'), null, (b) => expect(b).toBe('buf')],
      ['URLSearchParams', new URLSearchParams({ a: '1', b: '2' }), 'application/x-www-form-urlencoded;charset=UTF-8', (b) => expect(b).toBe('a=1&b=2')],
      ['Blob', blob, 'application/x-blob', (b) => expect(b).toBe('blob-bytes')],
      ['FormData', form, 'multipart/form-data', (b, type) => {
        const boundary = /boundary=(.+)$/.exec(type)![1]!;
        expect(b).toContain(`--${boundary}`);
        expect(b).toContain('name="field"\r\n\r\nvalue');
        expect(b).toContain('filename="f.txt"');
        expect(b).toContain('file-bytes');
      }],
      ['undici FormData', uform, 'multipart/form-data', (b) => expect(b).toContain('name="u"\r\n\r\nv')],
    ];
    for (const [name, body, type, check] of cases) {
      const server = await flakyServer();
      cleanup.push(() => server.close());
      const { mesh, requests } = await meshFor([server.url]);
      const res = await mesh.fetch('http://api/', { method: 'PUT', body: body as string });
      const echoed = (await res.json()) as { body: string; type: string | null };
      expect(server.requests, name).toHaveLength(2);
      expect(server.requests[0]!.body, name).toBe(server.requests[1]!.body);
      if (type === null) expect(echoed.type, name).toBeNull();
      else expect(echoed.type, name).toContain(type);
      check(echoed.body, echoed.type ?? '');
      expect(requests.at(-1), name).toMatchObject({ attempts: 2 });
    }
  });

  it("replays the body of a Request made from known bytes (what ky and axios send); a live stream streams once", async () => {
    const server = await flakyServer();
    cleanup.push(() => server.close());
    const { mesh, requests } = await meshFor([server.url]);
    const made = new globalThis.Request('http://api/doc', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"k":"v"}' });
    const res = await mesh.fetch(made);
    expect(await res.json()).toEqual({ method: 'PUT', type: 'application/json', body: '{"k":"v"}' });
    expect(requests.at(-1)).toMatchObject({ attempts: 2 });

    const streaming = await flakyServer(0);
    cleanup.push(() => streaming.close());
    const m2 = await meshFor([streaming.url]);
    let push: ((chunk: string | null) => void) | undefined;
    const live = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(new TextEncoder().encode(chunk)));
      },
    });
    const pending = m2.mesh.fetch(new globalThis.Request('http://api/up', { method: 'PUT', body: live, duplex: 'half' } as RequestInit));
    push!('first ');
    setTimeout(() => {
      push!('second');
      push!(null);
    }, 30);
    expect(((await (await pending).json()) as { body: string }).body).toBe('first second');
    expect(m2.requests.at(-1)).toMatchObject({ attempts: 1 });
  });

  it('resends a POST to another endpoint after a connect failure', async () => {
    const dead = await startServer('dead');
    const deadUrl = dead.url;
    await dead.close();
    const live = await startServer('live', (_req, res, body) => void res.end(`got ${body}`));
    cleanup.push(() => live.close());
    const { mesh, requests } = await meshFor([deadUrl, live.url], { loadBalancer: 'round-robin' });
    for (let i = 0; i < 2; i++) {
      const res = await mesh.fetch('http://api/orders', { method: 'POST', body: JSON.stringify({ i }) });
      expect(await res.text()).toBe(`got {"i":${i}}`);
    }
    // Round robin sends at least one of them to the dead endpoint first; that one is resent.
    expect(requests.map((r) => (r as { attempts: number }).attempts)).toContain(2);
  });

  it('sends a streaming body once: it is not replayable', async () => {
    const server = await flakyServer();
    cleanup.push(() => server.close());
    const { mesh, requests } = await meshFor([server.url]);
    const body = Readable.toWeb(Readable.from([Buffer.from('a'), Buffer.from('b')])) as ReadableStream;
    const error = await mesh.fetch('http://api/', { method: 'PUT', body, duplex: 'half' }).then(() => undefined, (e: unknown) => e);
    expect(isMeshError(error, 'MESH_UPSTREAM_FAILURE')).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(requests.at(-1)).toMatchObject({ attempts: 1 });
  });

  it('a 303 redirect drops the body; a 307 resends it', async () => {
    const server = await startServer('redirect', (req, res, body) => {
      if (req.url === '/see-other') res.writeHead(303, { location: '/done' }).end();
      else if (req.url === '/temporary') res.writeHead(307, { location: '/done' }).end();
      else res.end(`${req.method} ${body}`);
    });
    cleanup.push(() => server.close());
    const { mesh } = await meshFor([server.url]);
    expect(await (await mesh.fetch('http://api/see-other', { method: 'POST', body: 'x' })).text()).toBe('GET ');
    expect(await (await mesh.fetch('http://api/temporary', { method: 'POST', body: 'y' })).text()).toBe('POST y');
  });

  it('an upstream reset mid-body errors the body with a TypeError whose cause is the MeshError', async () => {
    const server = await startServer('cut', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    cleanup.push(() => server.close());
    const { mesh } = await meshFor([server.url]);
    const res = await mesh.fetch('http://api/');
    const error = await res.text().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toBeInstanceOf(MeshError);
    expect(isMeshError((error as Error).cause, 'MESH_UPSTREAM_FAILURE')).toBe(true);
  });

  it('rejects with the MeshError itself before a response, and MESH_CLOSED once closed', async () => {
    const mesh = new MeshClient({ egress: 'deny' });
    const refused = await mesh.fetch('http://nowhere/').then(() => undefined, (e: unknown) => e);
    expect(isMeshError(refused, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    await mesh.close();
    const closed = await mesh.fetch('http://nowhere/').then(() => undefined, (e: unknown) => e);
    expect(isMeshError(closed, 'MESH_CLOSED')).toBe(true);
  });
});
