import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient } from '../../../src/index.js';
import { startServer, type TestServer } from '../../helpers/servers.js';

const CHUNK = 64 * 1024;
const TOTAL = 10 * 1024 * 1024;

/**
 * The server sends the first 1 MiB, then waits until the client has *received*
 * bytes before sending the other 9 MiB. A mesh that buffered the body would
 * never hand the client anything, and the test would time out.
 */
describe('streaming', () => {
  let server: TestServer;
  let clientGotBytes: () => void = () => {};
  const expected = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let i = 0; i < TOTAL / CHUNK; i++) {
    const c = Buffer.alloc(CHUNK, i % 251);
    chunks.push(c);
    expected.update(c);
  }
  const expectedDigest = expected.digest('hex');

  beforeAll(async () => {
    server = await startServer('big', async (_req, res) => {
      const received = new Promise<void>((resolve) => {
        clientGotBytes = resolve;
      });
      res.writeHead(200, { 'content-length': String(TOTAL) });
      let i = 0;
      for (; i < 16; i++) res.write(chunks[i]);
      await received;
      for (; i < chunks.length; i++) {
        if (!res.write(chunks[i])) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('passes a 10 MB body through mesh.request without buffering it', async () => {
    const mesh = new MeshClient({ services: { big: { endpoints: [server.url] } } });
    const res = await mesh.request('http://big/file');
    const hash = createHash('sha256');
    let bytes = 0;
    let maxHeldByMesh = 0;
    for await (const piece of res.body) {
      if (bytes === 0) clientGotBytes();
      bytes += (piece as Buffer).length;
      hash.update(piece as Buffer);
      maxHeldByMesh = Math.max(maxHeldByMesh, (piece as Buffer).length);
    }
    expect(bytes).toBe(TOTAL);
    expect(hash.digest('hex')).toBe(expectedDigest);
    expect(maxHeldByMesh).toBeLessThan(TOTAL / 4);
    await mesh.close();
  });

  it('passes a 10 MB body through mesh.fetch as a stream', async () => {
    const mesh = new MeshClient({ services: { big: { endpoints: [server.url] } } });
    const res = await mesh.fetch('http://big/file');
    const reader = res.body!.getReader();
    const hash = createHash('sha256');
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (bytes === 0) clientGotBytes();
      bytes += value.length;
      hash.update(value);
    }
    expect(bytes).toBe(TOTAL);
    expect(hash.digest('hex')).toBe(expectedDigest);
    await mesh.close();
  });
});
