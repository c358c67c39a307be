import { request as undiciRequest, type Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { MeshClient } from '../../../src/index.js';
import { startServer } from '../../helpers/servers.js';

/**
 * MeshClient.request builds the dispatch options itself for a plain URL
 * (undici.request's `{ ...opts, origin, path, method }` is slow on Node 20:
 * docs/benchmarks.md, "Object spreads on Node 20"). What reaches the mesh's
 * dispatcher must be what undici.request would have built, and every other
 * form must still go through undici.request, its errors included.
 */
describe('MeshClient.request builds what undici.request would', () => {
  /** Runs `run` against a fresh mesh; the dispatch options its dispatcher saw, `dispatcher` checked and left out (each mesh has its own). */
  async function capture<T>(run: (mesh: MeshClient) => Promise<T>): Promise<{ opts: Dispatcher.DispatchOptions[]; result: T | Error; direct: number }> {
    const server = await startServer('opts', (_req, res) => {
      res.end('ok');
    });
    const mesh = new MeshClient({ services: { svc: { endpoints: [server.url] } } });
    const opts: Dispatcher.DispatchOptions[] = [];
    const dispatch = mesh.dispatcher.dispatch.bind(mesh.dispatcher);
    mesh.dispatcher.dispatch = (o: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) => {
      const { dispatcher, ...rest } = o as Dispatcher.DispatchOptions & { dispatcher?: unknown };
      expect(dispatcher).toBe(mesh.dispatcher);
      opts.push(rest);
      return dispatch(o, handler);
    };
    // The direct path calls the dispatcher's own `request`; undici.request calls its API function instead.
    let direct = 0;
    const request = mesh.dispatcher.request.bind(mesh.dispatcher) as (o: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
    mesh.dispatcher.request = ((o: Dispatcher.RequestOptions) => {
      direct++;
      return request(o);
    }) as never;
    try {
      let result: T | Error;
      try {
        result = await run(mesh);
      } catch (error) {
        result = error as Error;
      }
      return { opts, result, direct };
    } finally {
      await mesh.close();
      await server.close();
    }
  }

  const cases: Array<[string, string | URL, Record<string, unknown> | undefined, boolean]> = [
    ['a string URL, no options', 'http://svc/a/b?x=1&y=2#frag', undefined, true],
    ['no path', 'http://svc', undefined, true],
    ['an empty query', 'http://svc/a?', undefined, true],
    ['a URL object', new URL('http://svc/u?q=1'), undefined, true],
    ['method and body', 'http://svc/p', { method: 'POST', body: 'hello', headers: { 'x-a': '1' } }, true],
    ['a body without a method (PUT)', 'http://svc/p', { body: 'hello' }, true],
    ['caller fields carried through', 'http://svc/p', { headersTimeout: 1234, opaque: { id: 1 }, query: { a: 'b' } }, true],
    ['a path option (undici.request handles it)', 'http://svc', { path: '/from-opts' }, false],
  ];

  for (const [name, url, options, fast] of cases) {
    it(name, async () => {
      const direct = await capture(async (mesh) => {
        const r = await mesh.request(url, options as never);
        return [r.statusCode, await r.body.text()];
      });
      const viaUndici = await capture(async (mesh) => {
        const r = await undiciRequest(url, { ...(options as object), dispatcher: mesh.dispatcher } as never);
        return [r.statusCode, await r.body.text()];
      });
      expect(direct.result).toEqual([200, 'ok']);
      expect(viaUndici.result).toEqual([200, 'ok']);
      expect(direct.direct).toBe(fast ? 1 : 0);
      expect(viaUndici.direct).toBe(0);
      expect(direct.opts).toHaveLength(1);
      expect(direct.opts).toEqual(viaUndici.opts);
    });
  }

  it('rejects what undici.request rejects, with its errors', async () => {
    for (const bad of ['not a url', 'ftp://svc/', 'http://svc:99999/']) {
      const direct = await capture((mesh) => mesh.request(bad));
      const viaUndici = await capture((mesh) => undiciRequest(bad, { dispatcher: mesh.dispatcher }));
      expect(direct.result).toBeInstanceOf(Error);
      expect((direct.result as Error).constructor).toBe((viaUndici.result as Error).constructor);
      expect((direct.result as Error).message).toBe((viaUndici.result as Error).message);
      expect(direct.opts).toEqual([]);
    }
  });
});
