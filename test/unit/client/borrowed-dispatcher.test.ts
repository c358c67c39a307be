import { errors, fetch as undiciFetch, request as undiciRequest, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BorrowedDispatcher, MeshClient } from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

/** A third-party SDK in miniature: it owns "its" dispatcher and closes it in close(), as @elastic/elasticsearch does. */
class Sdk {
  constructor(private readonly dispatcher: Dispatcher) {}
  async get(path: string): Promise<string> {
    const res = await undiciRequest(`http://api${path}`, { dispatcher: this.dispatcher });
    return res.body.text();
  }
  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

describe('mesh.borrowDispatcher()', () => {
  let server: TestServer;
  let mesh: MeshClient;
  beforeAll(async () => {
    server = await startServer('api', (_req, res) => void setTimeout(() => res.end('api'), 30));
    mesh = new MeshClient({ services: { api: { endpoints: [server.url] } } });
  });
  afterAll(async () => {
    await mesh.close();
    await server.close();
  });

  it('an SDK that closes its dispatcher closes only the view: the mesh keeps serving', async () => {
    const view = mesh.borrowDispatcher();
    expect(view).toBeInstanceOf(BorrowedDispatcher);
    const sdk = new Sdk(view);
    const inflight = sdk.get('/a');
    await sdk.close();
    expect(view.closed).toBe(true);
    expect(await inflight).toBe('api'); // sent before close: it finishes
    const after = await sdk.get('/b').then(() => undefined, (e: unknown) => e);
    expect(after).toBeInstanceOf(errors.ClientClosedError);
    expect(mesh.closed).toBe(false);
    expect(await (await mesh.fetch('http://api/c')).text()).toBe('api');
    expect(await (await undiciFetch('http://api/d', { dispatcher: mesh.dispatcher })).text()).toBe('api');
    const other = mesh.borrowDispatcher();
    expect(await new Sdk(other).get('/e')).toBe('api');
  });

  it('destroy() detaches too; fetch through a detached view rejects with the ClientDestroyedError as cause', async () => {
    const view = mesh.borrowDispatcher();
    await view.destroy();
    const error = await undiciFetch('http://api/x', { dispatcher: view }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).cause).toBeInstanceOf(errors.ClientDestroyedError);
    await new Promise<void>((resolve) => view.close(resolve));
    expect(mesh.closed).toBe(false);
  });

  it('a view of a closed mesh refuses with MESH_CLOSED', async () => {
    const m = new MeshClient({ services: { api: { endpoints: [server.url] } } });
    const view = m.borrowDispatcher();
    await m.close();
    const error = await undiciRequest('http://api/', { dispatcher: view }).then(() => undefined, (e: unknown) => e);
    expect((error as { code?: string }).code).toBe('MESH_CLOSED');
  });
});
