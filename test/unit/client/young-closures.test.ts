import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { MeshClient } from '../../../src/index.js';
import { startServer } from '../../helpers/servers.js';

/**
 * The closures a request makes must be allocated in V8's young generation.
 * A function literal assigned straight to a property (`this.#f = () => ...`)
 * is allocated in old space by unoptimized code (V8 takes it for a method
 * being installed). On the request path, that old closure kept the request's
 * young objects alive across scavenges, V8 pretenured their allocation sites
 * (undici's among them) for the life of the process, and every later request
 * was promoted instead of dying young: about +9 us of client CPU per request
 * over sockets (docs/benchmarks.md, "Pretenuring"). The lint rule in
 * .ci/eslint.config.js forbids the pattern in src/; this test checks the
 * closure that had it, from the first request on (unoptimized code).
 */
describe('request-path closures are allocated young', () => {
  setFlagsFromString('--allow-natives-syntax');
  const inYoungGeneration = new Function('o', 'return %InYoungGeneration(o)') as (o: unknown) => boolean;

  it('the resume function handed to a legacy (undici 7) handler is young on every request', async () => {
    const server = await startServer('young', (_req, res) => {
      res.end('ok');
    });
    const mesh = new MeshClient({ services: { svc: { endpoints: [server.url] } } });
    try {
      const places: boolean[] = [];
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve, reject) => {
          mesh.dispatcher.dispatch(
            { origin: 'http://svc', path: '/', method: 'GET' },
            {
              onConnect() {},
              onHeaders(_status: number, _raw: Buffer[], resume: () => void) {
                places.push(inYoungGeneration(resume));
                return true;
              },
              onData() {
                return true;
              },
              onComplete() {
                resolve();
              },
              onError(error: Error) {
                reject(error);
              },
            } as never,
          );
        });
      }
      expect(places).toHaveLength(20);
      expect(places.filter((young) => !young)).toEqual([]);
    } finally {
      await mesh.close();
      await server.close();
    }
  });
});
