import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MeshClient, isMeshError } from '../../../src/index.js';
import { holdProcess, processHolders, releaseProcess } from '../../../src/util/process-hold.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

const backoffChild = fileURLToPath(new URL('../../fixtures/backoff-child.ts', import.meta.url));
const deadlineChild = fileURLToPath(new URL('../../fixtures/deadline-child.ts', import.meta.url));

/** Runs a fixture to its end: exit code, stdout and stderr. */
async function runChild(file: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return { code, out, err };
}

describe('the process hold under fake timers', () => {
  // First in the file, so the hold's handle is made while the fake timers are installed.
  it('is not a timer they see, run or advance', () => {
    vi.useFakeTimers();
    try {
      const timers = vi.getTimerCount();
      const now = Date.now();
      holdProcess();
      expect([processHolders(), vi.getTimerCount()]).toEqual([1, timers]);
      vi.runAllTimers();
      expect(Date.now()).toBe(now);
      releaseProcess();
      expect(processHolders()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a request in flight keeps the process alive', () => {
  let server: TestServer;
  let calls = 0;
  beforeAll(async () => {
    server = await startServer('svc', (req, res) => {
      // The first call is reset (a retriable failure); the retry is answered.
      if (calls++ === 0) req.socket.destroy();
      else res.end('after backoff');
    });
  });
  afterAll(() => server.close());

  it('through a retry backoff, though background timers never would', async () => {
    expect(await runChild(backoffChild, server.url)).toEqual({ code: 0, out: '200 after backoff', err: '' });
    expect(calls).toBe(2);
  });

  it('until its per-try deadline fails it, over a transport that holds nothing, and then lets the process end', async () => {
    // Without the request's hold the process would end at once with the top-level await unsettled (exit 13).
    expect(await runChild(deadlineChild)).toEqual({ code: 0, out: 'MESH_TIMEOUT', err: '' });
  });
});

describe('the process hold of requests', () => {
  let server: TestServer;
  let release: (() => void) | undefined;
  beforeAll(async () => {
    server = await startServer('held', (req, res) => {
      if (req.url === '/slow') release = () => res.end('late');
      else if (req.url === '/fail') res.writeHead(503).end();
      else res.end('ok');
    });
  });
  afterAll(() => server.close());

  const mesh = (service: Record<string, unknown> = {}) =>
    new MeshClient({ services: { held: { endpoints: [server.url], timeout: { perTryMs: 2_000, totalMs: 5_000 }, ...service } } });

  it('is held while a request is in flight and given back when it ends, whatever the ending', async () => {
    const m = mesh({ retry: { attempts: 2, retryOn: ['gateway-error'], backoff: { baseMs: 1, maxMs: 1 } } });
    const before = processHolders();
    const slow = m.request('http://held/slow');
    await expect.poll(() => release).toBeDefined();
    expect(processHolders()).toBe(before + 1);
    release!();
    const res = await slow;
    expect(await res.body.text()).toBe('late');
    expect(processHolders()).toBe(before);
    // A retried failure, a success, a caller's abort: each gives the hold back once.
    expect((await m.request('http://held/fail').then((r) => (r.body.resume(), r.statusCode)))).toBe(503);
    expect(processHolders()).toBe(before);
    await (await m.request('http://held/ok')).body.text();
    const aborted = new AbortController();
    release = undefined;
    const pending = m.request('http://held/slow', { signal: aborted.signal });
    await expect.poll(() => release).toBeDefined();
    expect(processHolders()).toBe(before + 1);
    aborted.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    expect(processHolders()).toBe(before);
    release!();
    await m.close();
  });

  it('is not taken by requests refused before admission', async () => {
    const m = new MeshClient({ services: {}, egress: 'deny' });
    const before = processHolders();
    const error = await m.request('http://nowhere/').catch((e: unknown) => e);
    expect(isMeshError(error, 'MESH_UNKNOWN_SERVICE')).toBe(true);
    expect(processHolders()).toBe(before);
    await m.close();
  });
});
