import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../helpers/servers.js';

const child = fileURLToPath(new URL('../../fixtures/backoff-child.ts', import.meta.url));

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
    const proc = spawn(process.execPath, ['--import', 'tsx', child, server.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect({ code, out, err }).toEqual({ code: 0, out: '200 after backoff', err: '' });
    expect(calls).toBe(2);
  });
});
