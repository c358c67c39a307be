import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  MeshClient,
  isMeshConfigError,
  isMeshError,
  type MeshRequestOptions,
  type RetryCondition,
  type RetryOptions,
  type ServiceOptions,
} from '../../../src/index.js';
import { startServer } from '../../helpers/servers.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});
function track<T extends { close(): Promise<void> }>(x: T): T {
  cleanup.push(() => x.close());
  return x;
}

describe('per-request overrides and defaults', () => {
  it('a request overrides the service policy field by field; invalid overrides name their path', async () => {
    const server = track(
      await startServer('busy', (req, res) => {
        if (req.url === '/hang') return;
        res.statusCode = 503;
        res.end();
      }),
    );
    const mesh = track(
      new MeshClient({ services: { s: { endpoints: [server.url], retry: { attempts: 3, backoff: false }, outlierDetection: false } } }),
    );
    const count = async (options: MeshRequestOptions, path = '/x'): Promise<number> => {
      const before = server.requests.length;
      const res = await mesh.request(`http://s${path}`, options);
      await res.body.dump();
      return server.requests.length - before;
    };
    expect(await count({})).toBe(3);
    expect(await count({ mesh: { retry: false } })).toBe(1);
    expect(await count({ mesh: { retry: { attempts: 5 } } })).toBe(5);
    const timedOut = await mesh.request('http://s/hang', { mesh: { timeout: { totalMs: 50 } } }).catch((e: unknown) => e);
    expect(isMeshError(timedOut, 'MESH_TIMEOUT')).toBe(true);
    const bad = await mesh
      .request('http://s/x', { mesh: { retry: { attempts: 0, budget: { percent: 1 } } as never, breaker: true } as never })
      .catch((e: unknown) => e);
    expect(isMeshConfigError(bad)).toBe(true);
    expect((bad as { issues: { path: string }[] }).issues.map((i) => i.path).sort()).toEqual([
      'mesh.breaker',
      'mesh.retry.attempts',
      'mesh.retry.budget',
    ]);
  });

  it('services inherit `defaults` field by field and turn policies off with false', async () => {
    const server = track(
      await startServer('busy', (_req, res) => {
        res.statusCode = 503;
        res.end();
      }),
    );
    const mesh = track(
      new MeshClient({
        defaults: { retry: { attempts: 4, backoff: false }, outlierDetection: false },
        services: {
          inherits: { endpoints: [server.url] },
          overrides: { endpoints: [server.url], retry: { retryOn: ['connect-failure'] } },
          off: { endpoints: [server.url], retry: false },
        },
      }),
    );
    const count = async (service: string): Promise<number> => {
      const before = server.requests.length;
      await (await mesh.request(`http://${service}/x`)).body.dump();
      return server.requests.length - before;
    };
    expect(await count('inherits')).toBe(4);
    expect(await count('overrides')).toBe(1);
    expect(await count('off')).toBe(1);
  });

  it('types: option names are checked at compile time', () => {
    expectTypeOf<ServiceOptions['retry']>().toEqualTypeOf<RetryOptions | false | undefined>();
    expectTypeOf<RetryCondition>().toEqualTypeOf<
      'connect-failure' | 'refused' | 'reset' | '5xx' | 'gateway-error' | 'retriable-status-codes' | 'timeout'
    >();
    // @ts-expect-error a typo in an option name is a compile error
    const typo: ServiceOptions = { retry: { attempt: 3 } };
    // @ts-expect-error the budget is per service, not per request
    const perRequestBudget: MeshRequestOptions = { mesh: { retry: { budget: { percent: 5 } } } };
    expect([typo, perRequestBudget]).toHaveLength(2);
  });
});
