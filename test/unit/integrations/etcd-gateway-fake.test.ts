import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshClient, type HealthEvent } from '../../../src/index.js';
import { etcdDiscovery } from '../../../src/integrations/etcd/index.js';
import { prefixEnd } from '../../../src/integrations/etcd/gateway.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * A fake etcd JSON gateway: the subject here is the provider's protocol
 * handling (range, watch stream, resume revision, compaction), so the fake
 * records what the provider asks and lets the test script the stream.
 */
async function fakeGateway(initial: Record<string, string>, revision: number) {
  const watches: { startRevision: number; res: ServerResponse }[] = [];
  const ranges: number[] = [];
  const kv = { ...initial };
  let rev = revision;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const json = JSON.parse(body || '{}') as { create_request?: { start_revision?: string } };
      if (req.url === '/v3/kv/range') {
        ranges.push(rev);
        res.end(
          JSON.stringify({
            header: { revision: String(rev) },
            kvs: Object.entries(kv).map(([k, v]) => ({ key: b64(k), value: b64(v), mod_revision: String(rev) })),
          }),
        );
        return;
      }
      if (req.url === '/v3/watch') {
        res.writeHead(200, { 'content-type': 'application/json' });
        watches.push({ startRevision: Number(json.create_request?.start_revision), res });
        res.write(`${JSON.stringify({ result: { header: { revision: String(rev) }, created: true } })}\n`);
        return;
      }
      res.statusCode = 404;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    watches,
    ranges,
    /** Applies a change and streams it to the live watch (if any). */
    event(type: 'PUT' | 'DELETE', key: string, value = '') {
      rev++;
      if (type === 'PUT') kv[key] = value;
      else delete kv[key];
      const w = watches.at(-1);
      const ev = { type, kv: { key: b64(key), value: b64(value), mod_revision: String(rev) } };
      w?.res.write(`${JSON.stringify({ result: { header: { revision: String(rev) }, events: [ev] } })}\n`);
    },
    dropWatch() {
      watches.at(-1)?.res.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const w of watches) w.res.destroy();
        server.close(() => r());
      }),
  };
}

describe('etcdDiscovery protocol handling (fake gateway)', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  async function until(check: () => boolean, what: string): Promise<void> {
    const end = Date.now() + 5_000;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('ranges, follows the watch, rejects bad values by key, and resumes from the last revision', async () => {
    const P = '/proxyless/services/';
    const gw = await fakeGateway({ [`${P}orders/a`]: '"http://10.0.0.1:80"', [`${P}other/x`]: '"http://10.0.0.9:80"' }, 10);
    closers.push(gw.close);
    const mesh = new MeshClient({
      discovery: etcdDiscovery({ endpoints: [gw.url], reconnectMinMs: 10, reconnectMaxMs: 20 }),
      services: { orders: {} },
    });
    closers.push(() => mesh.close());
    const events: string[] = [];
    mesh.on('health', (e: HealthEvent) => events.push(`${e.type} ${e.endpoint ?? e.key ?? ''}`.trim()));
    const urls = () => mesh.snapshot().services.orders!.endpoints.map((e) => e.url);
    await until(() => gw.watches.length === 1, 'the watch');
    expect(gw.watches[0]!.startRevision).toBe(11);
    expect(urls()).toEqual(['http://10.0.0.1']);

    gw.event('PUT', `${P}orders/b`, '{"address":"10.0.0.2","port":8080,"weight":3}');
    gw.event('PUT', `${P}orders/bad`, '{not json');
    gw.event('PUT', `${P}orders/neg`, '{"url":"http://10.0.0.3","weight":-1}');
    await until(() => urls().length === 2, 'the put');
    expect(events).toEqual([
      'endpoint-added http://10.0.0.1', // the initial range arrives after construction
      'endpoint-added http://10.0.0.2:8080',
      `discovery-rejected ${P}orders/bad`,
      `discovery-rejected ${P}orders/neg`,
    ]);

    events.length = 0;
    gw.dropWatch();
    await until(() => gw.watches.length === 2, 'the reconnect');
    expect(gw.watches[1]!.startRevision).toBe(14); // last seen (13) + 1: nothing lost, nothing re-read
    expect(gw.ranges).toEqual([10]);
    gw.event('DELETE', `${P}orders/a`);
    await until(() => urls().length === 1, 'the delete after the resume');
    // Bad entries were reported once, not again on every push.
    expect(events).toEqual(['discovery-failed', 'discovery-recovered', 'endpoint-removed http://10.0.0.1']);
    // Fixed, then broken again: reported again.
    gw.event('PUT', `${P}orders/neg`, '"http://10.0.0.3:80"');
    await until(() => urls().length === 2, 'the fixed entry');
    gw.event('PUT', `${P}orders/neg`, '{"url":"http://10.0.0.3","weight":0}');
    await until(() => urls().length === 1, 'the broken entry');
    expect(events.slice(3)).toEqual([
      'endpoint-added http://10.0.0.3',
      `discovery-rejected ${P}orders/neg`,
      'endpoint-removed http://10.0.0.3',
    ]);
  });

  it('computes the prefix range end like etcd clients do', () => {
    expect(Buffer.from(prefixEnd('/a/'), 'base64').toString()).toBe('/a0');
    expect(Buffer.from(prefixEnd('ab\u00ff'), 'base64')).toEqual(Buffer.from([0x61, 0x62, 0xc3, 0xc0]));
  });
});
