// Third-party HTTP clients through mesh.fetch (docs/http-clients.md has the compatibility table).
import axios, { AxiosError } from 'axios';
import { GraphQLClient } from 'graphql-request';
import ky, { HTTPError } from 'ky';
import OpenAI from 'openai';
import { FetchError, createFetch } from 'ofetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError, type MeshError } from '../../../src/index.js';
import { startClientServer } from '../../helpers/http-client-server.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

/** The MeshError in `error`'s cause chain, if any. */
function meshErrorIn(error: unknown): MeshError | undefined {
  for (let e = error, i = 0; e !== undefined && e !== null && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if (isMeshError(e)) return e;
  }
  return undefined;
}

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e);

describe('HTTP client libraries over mesh.fetch', () => {
  let server: TestServer;
  let flaky: TestServer;
  let mesh: MeshClient;
  const attempts: number[] = [];

  beforeAll(async () => {
    server = await startClientServer();
    let n = 0;
    // resets every other request after reading its body: each logical request needs a retry
    flaky = await startServer('flaky', (req, res, body) => {
      if (n++ % 2 === 0) return void req.socket.destroy();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, body }));
    });
    mesh = new MeshClient({
      services: {
        api: { endpoints: [server.url] },
        flaky: { endpoints: [flaky.url], retry: { attempts: 2, backoff: false }, outlierDetection: false, circuitBreaker: false },
      },
      egress: 'deny',
      observers: [{ onMetric: (e) => e.type === 'request' && e.service === 'flaky' && attempts.push(e.attempts) }],
    });
  });
  afterAll(async () => {
    await mesh.close();
    await Promise.all([server.close(), flaky.close()]);
  });

  describe('ky', () => {
    const api = () => ky.create({ fetch: mesh.fetch, retry: 0 });
    it('sends JSON bodies and reads JSON; an idempotent PUT is retried after a reset', async () => {
      expect(await api().post('http://api/echo', { json: { a: 1 } }).json()).toEqual({ method: 'POST', type: 'application/json', body: '{"a":1}' });
      attempts.length = 0;
      expect(await api().put('http://flaky/doc', { json: { b: 2 } }).json()).toEqual({ method: 'PUT', body: '{"b":2}' });
      expect(attempts).toEqual([2]);
    });
    it('streams the response body', async () => {
      const res = await api().get('http://api/stream');
      const chunks: string[] = [];
      for await (const c of res.body!.pipeThrough(new TextDecoderStream())) chunks.push(c);
      expect(chunks.join('')).toBe('chunk0\nchunk1\nchunk2\n');
    });
    it('reports 4xx/5xx as HTTPError, aborts as AbortError, refusals as the MeshError itself', async () => {
      const e404 = await failure(api().get('http://api/status/404'));
      expect(e404).toBeInstanceOf(HTTPError);
      expect((e404 as HTTPError).response.status).toBe(404);
      const aborted = await failure(api().get('http://api/hang', { signal: AbortSignal.timeout(50) }));
      expect((aborted as Error).name).toBe('TimeoutError');
      const refused = await failure(api().get('http://nowhere/x'));
      expect(isMeshError(refused, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    });
  });

  describe('ofetch', () => {
    const api = () => createFetch({ fetch: mesh.fetch as typeof globalThis.fetch });
    it('sends JSON bodies and parses JSON; a PUT is retried after a reset', async () => {
      expect(await api()('http://api/echo', { method: 'POST', body: { a: 1 } })).toEqual({ method: 'POST', type: 'application/json', body: '{"a":1}' });
      attempts.length = 0;
      expect(await api()('http://flaky/doc', { method: 'PUT', body: { b: 2 }, retry: 0 })).toEqual({ method: 'PUT', body: '{"b":2}' });
      expect(attempts).toEqual([2]);
    });
    it('streams the response body', async () => {
      const body = (await api()('http://api/stream', { responseType: 'stream' })) as ReadableStream<Uint8Array>;
      expect(await new Response(body).text()).toBe('chunk0\nchunk1\nchunk2\n');
    });
    it('reports statuses as FetchError with status; aborts and refusals as FetchError with the cause', async () => {
      const e503 = await failure(api()('http://api/status/503', { retry: 0 }));
      expect(e503).toBeInstanceOf(FetchError);
      expect((e503 as FetchError).status).toBe(503);
      const aborted = await failure(api()('http://api/hang', { retry: 0, signal: AbortSignal.timeout(50) }));
      expect(((aborted as FetchError).cause as Error).name).toBe('TimeoutError');
      const refused = await failure(api()('http://nowhere/x', { retry: 0 }));
      expect(refused).toBeInstanceOf(FetchError);
      expect(meshErrorIn(refused)?.code).toBe('MESH_UNKNOWN_SERVICE');
    });
  });

  describe('axios (fetch adapter)', () => {
    const api = () => axios.create({ adapter: 'fetch', env: { fetch: mesh.fetch } });
    it('sends JSON bodies and parses JSON; a PUT is retried after a reset', async () => {
      expect((await api().post('http://api/echo', { a: 1 })).data).toEqual({ method: 'POST', type: 'application/json', body: '{"a":1}' });
      attempts.length = 0;
      expect((await api().put('http://flaky/doc', { b: 2 })).data).toEqual({ method: 'PUT', body: '{"b":2}' });
      expect(attempts).toEqual([2]);
    });
    it('streams the response body (responseType: stream)', async () => {
      const res = await api().get<ReadableStream<Uint8Array>>('http://api/stream', { responseType: 'stream' });
      expect(await new Response(res.data).text()).toBe('chunk0\nchunk1\nchunk2\n');
    });
    it('reports statuses as AxiosError with response; aborts as CanceledError; refusals as AxiosError with the MeshError code and cause', async () => {
      const e404 = await failure(api().get('http://api/status/404'));
      expect(e404).toBeInstanceOf(AxiosError);
      expect((e404 as AxiosError).response?.status).toBe(404);
      const aborted = await failure(api().get('http://api/hang', { signal: AbortSignal.timeout(50) }));
      expect(axios.isCancel(aborted)).toBe(true);
      const refused = await failure(api().get('http://nowhere/x'));
      expect(refused).toBeInstanceOf(AxiosError);
      expect((refused as AxiosError).code).toBe('MESH_UNKNOWN_SERVICE');
      expect(meshErrorIn(refused)?.code).toBe('MESH_UNKNOWN_SERVICE');
    });
  });

  describe('openai', () => {
    const client = (baseURL = 'http://api/v1') => new OpenAI({ apiKey: 'test', baseURL, fetch: mesh.fetch, maxRetries: 0 });
    it('creates a chat completion, and streams one over SSE', async () => {
      const done = await client().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
      expect(done.choices[0]?.message.content).toBe('Hello there');
      const stream = await client().chat.completions.create({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      const deltas: string[] = [];
      for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? '');
      expect(deltas).toEqual(['Hel', 'lo ', 'there']);
    });
    it('reports statuses as APIError subclasses, aborts as APIUserAbortError, refusals as APIConnectionError with the MeshError as cause', async () => {
      const limited = await failure(client('http://api/status/429').chat.completions.create({ model: 'm', messages: [] }));
      expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
      expect((limited as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
      const aborted = await failure(client('http://api/hang').chat.completions.create({ model: 'm', messages: [] }, { signal: AbortSignal.timeout(50) }));
      expect(aborted).toBeInstanceOf(OpenAI.APIUserAbortError);
      const refused = await failure(client('http://nowhere/v1').chat.completions.create({ model: 'm', messages: [] }));
      expect(refused).toBeInstanceOf(OpenAI.APIConnectionError);
      expect(meshErrorIn(refused)?.code).toBe('MESH_UNKNOWN_SERVICE');
    });
  });

  describe('graphql-request', () => {
    it('sends a query with variables', async () => {
      const client = new GraphQLClient('http://api/graphql', { fetch: mesh.fetch });
      expect(await client.request('query($name: String) { hello(name: $name) }', { name: 'mesh' })).toEqual({ hello: 'hello mesh' });
    });
    it('reports statuses as ClientError, aborts as AbortError, refusals as the MeshError itself', async () => {
      const e500 = await failure(new GraphQLClient('http://api/status/500', { fetch: mesh.fetch }).request('{ hello }'));
      expect((e500 as { response?: { status?: number } }).response?.status).toBe(500);
      const aborted = await failure(new GraphQLClient('http://api/hang', { fetch: mesh.fetch }).request({ document: '{ hello }', signal: AbortSignal.timeout(50) }));
      expect((aborted as Error).name).toBe('TimeoutError');
      const refused = await failure(new GraphQLClient('http://nowhere/graphql', { fetch: mesh.fetch }).request('{ hello }'));
      expect(isMeshError(refused, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    });
  });
});
