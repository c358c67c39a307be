import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, isMeshError } from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

const child = fileURLToPath(new URL('../../fixtures/close-child.ts', import.meta.url));

describe('close()', () => {
  let server: TestServer;
  beforeAll(async () => {
    // keep-alive on the server side: sockets stay open until the client closes them.
    server = await startServer('svc', (_req, res) => {
      res.setHeader('connection', 'keep-alive');
      res.end('ok');
    });
    server.server.keepAliveTimeout = 60_000;
  });
  afterAll(async () => {
    await server.close();
  });

  it('frees every socket and timer: a process with a closed mesh exits by itself', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, server.url, `${server.url}/egress`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exitCode = await new Promise<number | string>((resolve) => {
      const killer = setTimeout(() => {
        proc.kill('SIGKILL');
        resolve('still running after 15 s');
      }, 15_000);
      proc.on('exit', (code) => {
        clearTimeout(killer);
        resolve(code ?? -1);
      });
    });
    expect(err).toBe('');
    expect(exitCode).toBe(0);
    const { handles } = JSON.parse(out) as { handles: string[] };
    expect(handles.filter((h) => h === 'TCPSocketWrap' || h === 'Timeout')).toEqual([]);
    expect(server.requests.length).toBeGreaterThanOrEqual(7);
  });

  it('refuses every later request with MESH_CLOSED, on every door', async () => {
    const mesh = new MeshClient({ services: { svc: { endpoints: [server.url] } } });
    const before = server.requests.length;
    const closing = mesh.close();
    expect(mesh.close()).toBe(closing);
    await closing;
    expect(mesh.closed).toBe(true);
    await expect(mesh.fetch('http://svc/')).rejects.toMatchObject({ code: 'MESH_CLOSED' });
    await expect(mesh.request('http://svc/')).rejects.toMatchObject({ code: 'MESH_CLOSED' });
    const viaDispatcher = await undiciFetch('http://svc/', { dispatcher: mesh.dispatcher }).catch((e: unknown) => e);
    expect(isMeshError((viaDispatcher as Error).cause, 'MESH_CLOSED')).toBe(true);
    await expect(mesh.updateConfig({})).rejects.toMatchObject({ code: 'MESH_CLOSED' });
    expect(server.requests.length).toBe(before);
    expect(mesh.snapshot().closed).toBe(true);
  });

  it('lets in-flight requests finish before the pools close', async () => {
    const slow = await startServer('slow', (_req, res) => {
      setTimeout(() => res.end('late'), 100);
    });
    const mesh = new MeshClient({ services: { slow: { endpoints: [slow.url] } } });
    const pending = mesh.request('http://slow/').then((r) => r.body.text());
    await new Promise((r) => setTimeout(r, 20));
    const closed = mesh.close();
    expect(await pending).toBe('late');
    await closed;
    await slow.close();
  });
});
