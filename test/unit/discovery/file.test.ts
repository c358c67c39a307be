import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClient, fileDiscovery, type HealthEvent } from '../../../src/index.js';
import { startServers, type TestServer } from '../../helpers/servers.js';
import { manualClock } from '../../helpers/clock.js';

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('fileDiscovery', () => {
  let s: TestServer[];
  let dir: string;
  beforeAll(async () => {
    s = await startServers(3);
    dir = mkdtempSync(join(tmpdir(), 'proxyless-file-'));
  });
  afterAll(async () => {
    await Promise.all(s.map((x) => x.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const urls = (mesh: MeshClient, service = 'orders') => mesh.snapshot().services[service]!.endpoints.map((e) => e.url);

  it('reads a JSON file at start and follows changes (atomic rename and in-place writes)', async () => {
    const file = join(dir, 'endpoints.json');
    writeFileSync(file, JSON.stringify({ orders: [s[0]!.url, { url: s[1]!.url, weight: 2 }] }));
    const mesh = new MeshClient({ discovery: fileDiscovery(file, { debounceMs: 20, pollIntervalMs: 500 }), services: { orders: {} } });
    const events: string[] = [];
    mesh.on('health', (e) => events.push(`${e.type} ${e.endpoint ?? ''}`));
    expect(urls(mesh)).toEqual([s[0]!.url, s[1]!.url]); // applied synchronously at construction
    const res = await mesh.request('http://orders/');
    expect(['s0', 's1']).toContain(await res.body.text());

    writeFileSync(`${file}.tmp`, JSON.stringify({ orders: [s[1]!.url, s[2]!.url] }));
    renameSync(`${file}.tmp`, file);
    await until(() => urls(mesh).includes(s[2]!.url), 'the renamed file');
    expect(urls(mesh)).toEqual([s[1]!.url, s[2]!.url]);

    writeFileSync(file, JSON.stringify({ orders: [s[2]!.url] }));
    await until(() => urls(mesh).length === 1, 'the rewritten file');
    expect(events).toEqual([`endpoint-added ${s[2]!.url}`, `endpoint-removed ${s[0]!.url}`, `endpoint-removed ${s[1]!.url}`]);
    await mesh.close();
  });

  it('ignores a half-written file with an event and never applies it', async () => {
    const file = join(dir, 'half.json');
    writeFileSync(file, JSON.stringify({ orders: [s[0]!.url] }));
    const mesh = new MeshClient({ discovery: fileDiscovery(file, { debounceMs: 20, pollIntervalMs: 500 }), services: { orders: {} } });
    const events: HealthEvent[] = [];
    mesh.on('health', (e) => events.push(e));
    writeFileSync(file, '{"orders": ["http://127.0.0.1:1');
    await until(() => events.length > 0, 'the failure event');
    expect(events.map((e) => e.type)).toEqual(['discovery-failed']);
    expect(events[0]!.source).toBe(`file:${file}`);
    expect(events[0]!.reason).toContain('not valid JSON');
    expect(urls(mesh)).toEqual([s[0]!.url]);
    const res = await mesh.request('http://orders/');
    expect(await res.body.text()).toBe('s0');
    writeFileSync(file, JSON.stringify({ orders: [s[1]!.url] }));
    await until(() => urls(mesh)[0] === s[1]!.url, 'the repaired file');
    expect(events.map((e) => e.type)).toEqual(['discovery-failed', 'discovery-recovered', 'endpoint-added', 'endpoint-removed']);
    await mesh.close();
  });

  it('rejects bad entries alone, naming the file and the key', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        orders: [s[0]!.url, { url: s[1]!.url, weight: -3 }, { address: '127.0.0.1', port: 'x' }, s[2]!.url],
        users: 'oops',
      }),
    );
    const events: HealthEvent[] = [];
    const mesh = new MeshClient({
      discovery: fileDiscovery(file),
      services: { orders: {}, users: { endpoints: [s[0]!.url] } , billing: {} },
      observers: [{ onHealth: (e) => events.push(e) }],
    });
    expect(urls(mesh)).toEqual([s[0]!.url, s[2]!.url]);
    const rejected = events.filter((e) => e.type === 'discovery-rejected');
    expect(rejected.map((e) => `${e.service} ${e.source} ${e.key ?? '-'}`)).toEqual([
      `orders file:${file} orders.1`,
      `orders file:${file} orders.2`,
      `billing file:${file} -`, // billing is missing from the file: an empty set, ignored
    ]);
    expect(rejected[0]!.reason).toContain('weight: expected a finite number > 0, found -3');
    await mesh.close();
  });

  it('reports a bad service entry as that service failing, without touching the others', async () => {
    const file = join(dir, 'svc.json');
    writeFileSync(file, JSON.stringify({ orders: [s[0]!.url], users: 'oops' }));
    const events: HealthEvent[] = [];
    const mesh = new MeshClient({
      discovery: fileDiscovery(file),
      services: { orders: {}, users: {} },
      observers: [{ onHealth: (e) => events.push(e) }],
    });
    expect(urls(mesh)).toEqual([s[0]!.url]);
    expect(events.filter((e) => e.service === 'users').map((e) => `${e.type} ${e.key ?? ''}`)).toEqual([
      'discovery-rejected users',
      'discovery-failed ',
    ]);
    await mesh.close();
  });

  it('reads YAML and polls on the mesh clock when file events are missed', async () => {
    const file = join(dir, 'endpoints.yaml');
    writeFileSync(file, `orders:\n  - ${s[0]!.url}\n  - url: ${s[1]!.url}\n    weight: 3\n    zone: b\n`);
    const clock = manualClock();
    const mesh = new MeshClient({
      clock,
      discovery: fileDiscovery(file, { debounceMs: 50, pollIntervalMs: 1_000 }),
      services: { orders: {} },
    });
    expect(mesh.snapshot().services.orders!.endpoints.map((e) => [e.url, e.weight, e.zone])).toEqual([
      [s[0]!.url, 1, null],
      [s[1]!.url, 3, 'b'],
    ]);
    writeFileSync(file, `orders: [${s[2]!.url}]\n`);
    // Whether the fs event or the poll notices it, nothing is read before the clock moves.
    await new Promise((r) => setTimeout(r, 50));
    expect(urls(mesh)).toHaveLength(2);
    await clock.advance(1_050);
    expect(urls(mesh)).toEqual([s[2]!.url]);
    await mesh.close();
    expect(clock.pending()).toBe(0);
  });
});
