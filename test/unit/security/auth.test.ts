import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, isMeshError, type AuthHeaders, type AuthHook, type AuthResult, type Clock } from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

/** A clock whose wall time the test moves; timers are real (none are used by the credential cache). */
function handClock(start: number): Clock & { advance(ms: number): void } {
  let wall = start;
  return {
    now: () => wall,
    wallNow: () => wall,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    advance(ms) {
      wall += ms;
    },
  };
}

describe('per-service credential hook', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('orders');
  });
  afterAll(() => server.close());

  const authOf = (from: number): (string | undefined)[] => server.requests.slice(from).map((r) => r.headers.authorization as string | undefined);

  it('calls the hook once for concurrent requests, caches until expiry, then refreshes', async () => {
    const clock = handClock(1_000_000);
    const calls: string[] = [];
    const hook: AuthHook = async (service) => {
      calls.push(service);
      await new Promise((r) => setTimeout(r, 5));
      return { headers: { authorization: `Bearer t${calls.length}` }, expiresAt: clock.wallNow() + 60_000 };
    };
    const mesh = new MeshClient({ services: { orders: { endpoints: [server.url], auth: hook } }, clock });
    const before = server.requests.length;
    const first = await Promise.all(Array.from({ length: 5 }, () => mesh.request('http://orders/x').then((r) => r.body.dump())));
    expect(first).toHaveLength(5);
    expect(calls).toEqual(['orders']);
    clock.advance(30_000); // still valid, not yet due for refresh
    await (await mesh.request('http://orders/x')).body.dump();
    expect(calls).toEqual(['orders']);
    clock.advance(20_000); // 10 s before expiry: served from cache, refreshed in the background
    await (await mesh.request('http://orders/x')).body.dump();
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['orders', 'orders']);
    await (await mesh.request('http://orders/x')).body.dump();
    clock.advance(120_000); // both expired: the request waits for the hook
    await (await mesh.request('http://orders/x')).body.dump();
    expect(calls).toHaveLength(3);
    expect(authOf(before)).toEqual([...Array(5).fill('Bearer t1'), 'Bearer t1', 'Bearer t1', 'Bearer t2', 'Bearer t3']);
    await mesh.close();
  });

  it('accepts plain headers (cached 5 minutes) and never replaces a header the caller set', async () => {
    const clock = handClock(0);
    let n = 0;
    const mesh = new MeshClient({
      services: { orders: { endpoints: [server.url], auth: () => ({ authorization: `Bearer ${++n}`, 'x-tenant': 'acme' }) } },
      clock,
    });
    const before = server.requests.length;
    await (await mesh.request('http://orders/x')).body.dump();
    await (await mesh.request('http://orders/x', { headers: { Authorization: 'Bearer mine' } })).body.dump();
    clock.advance(299_000);
    await (await mesh.request('http://orders/x')).body.dump();
    clock.advance(2_000);
    await (await mesh.request('http://orders/x')).body.dump();
    expect(authOf(before)).toEqual(['Bearer 1', 'Bearer mine', 'Bearer 1', 'Bearer 2']);
    expect(server.requests.slice(before).map((r) => r.headers['x-tenant'])).toEqual(['acme', 'acme', 'acme', 'acme']);
    await mesh.close();
  });

  it('fails the request with MESH_AUTH_FAILED when the hook fails or returns bad headers, and sends nothing', async () => {
    let mode: 'throw' | 'crlf' | 'ok' = 'throw';
    const mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [server.url],
          auth: (): AuthHeaders | AuthResult => {
            if (mode === 'throw') throw new Error('token file missing');
            return mode === 'crlf' ? { authorization: 'Bearer x\r\ninjected: 1' } : { headers: { authorization: 'Bearer ok' }, expiresAt: new Date(Date.now() + 60_000) };
          },
        },
      },
    });
    const before = server.requests.length;
    const e1 = await mesh.request('http://orders/x').catch((e: unknown) => e);
    expect(isMeshError(e1, 'MESH_AUTH_FAILED')).toBe(true);
    expect((e1 as Error).message).toContain('token file missing');
    mode = 'crlf';
    const e2 = await mesh.fetch('http://orders/x').catch((e: unknown) => e);
    expect(isMeshError(e2, 'MESH_AUTH_FAILED')).toBe(true);
    expect(server.requests.length).toBe(before);
    mode = 'ok';
    await (await mesh.request('http://orders/x')).body.dump();
    expect(authOf(before)).toEqual(['Bearer ok']);
    await mesh.close();
  });

  it('an abort while the hook is pending ends the request without sending it', async () => {
    let release: (() => void) | undefined;
    const mesh = new MeshClient({
      services: {
        orders: {
          endpoints: [server.url],
          auth: () => new Promise((resolve) => (release = () => resolve({ authorization: 'Bearer late' }))),
        },
      },
    });
    const before = server.requests.length;
    const controller = new AbortController();
    const pending = mesh.request('http://orders/x', { signal: controller.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    const error = await pending;
    expect((error as Error).name).toBe('AbortError');
    release?.();
    await new Promise((r) => setTimeout(r, 20));
    expect(server.requests.length).toBe(before);
    await mesh.close();
  });

  it('rejects a hook that is not a function', () => {
    expect(() => new MeshClient({ services: { orders: { auth: 'Bearer x' as unknown as AuthHook } } })).toThrow(MeshConfigError);
  });
});
