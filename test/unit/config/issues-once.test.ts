import { describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError } from '../../../src/index.js';

/** The schema reports shapes and bounds; the resolvers only rules across fields: no problem is reported twice. */
describe('config issues', () => {
  it('names each problem once, whichever check finds it', () => {
    let error: unknown;
    try {
      new MeshClient({
        egress: { mode: 'deny', allow: ['', 'ok.example.org', 'http://bad/'] },
        discovery: { type: '' } as never,
        services: {
          orders: {
            endpoints: ['http://10.0.0.1:8080', { url: 'http://10.0.0.2:8080', weight: -1 }, 'ftp://x:21'],
            loadBalancer: { policy: '' } as never,
            retry: { attempts: 11, backoff: { baseMs: 100, maxMs: 10 } },
            timeout: { perTryMs: 500, totalMs: 100 },
            faults: { abort: { percent: 200, status: 503, error: 'reset' } },
            routes: [{ split: [{ weight: -1 }] }, { split: [{ weight: 0 }] }, { match: { method: 'GE T' }, split: [{ weight: 1 }] }],
            tls: { servername: '10.0.0.1', watch: { pollMs: 1 } },
          },
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MeshConfigError);
    const paths = (error as MeshConfigError).issues.map((i) => i.path);
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((p, i) => paths.indexOf(p) !== i)).toEqual([]);
    // Both kinds are there: the schema's (bounds) and the resolvers' (across fields, semantics).
    expect(paths).toEqual(
      expect.arrayContaining([
        'services.orders.retry.attempts',
        'services.orders.retry.backoff.maxMs',
        'services.orders.timeout.perTryMs',
        'services.orders.endpoints.2',
        'services.orders.routes.1.split',
        'services.orders.routes.2.match.method',
        'egress.allow.2',
      ]),
    );
  });
});
