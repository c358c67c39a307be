import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MeshClient, fileConfigSource, type ConfigEvent } from '../../../src/index.js';
import { manualClock, type ManualClock } from '../../helpers/clock.js';
import { startServers, type TestServer } from '../../helpers/servers.js';

describe('fileConfigSource + mesh.watchConfig', () => {
  let servers: TestServer[];
  let dir: string;
  let clock: ManualClock;
  let mesh: MeshClient;
  let events: unknown[];
  beforeAll(async () => {
    servers = await startServers(2, 's');
  });
  afterAll(() => Promise.all(servers.map((s) => s.close())));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'proxyless-config-'));
    clock = manualClock();
    mesh = new MeshClient({ clock });
    events = [];
    mesh.on('config', (e: ConfigEvent) =>
      events.push(e.type === 'applied' ? ['applied', e.version, e.source] : ['rejected', e.issues.map((i) => i.path), e.source]),
    );
  });
  afterEach(async () => {
    await mesh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function body(url: string): Promise<string> {
    const res = await mesh.request(url);
    return res.body.text();
  }
  /** Writes atomically (temp file + rename), as the docs advise. */
  function write(path: string, text: string): void {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  const config = (i: number, extra = '') => JSON.stringify({ services: { orders: { endpoints: [servers[i]!.url] } } }) + extra;

  it('applies the file, never a half-written or invalid one, keeps the last good config, and stops', async () => {
    const path = join(dir, 'mesh.json');
    write(path, config(0));
    const source = fileConfigSource(path, { pollIntervalMs: 1_000, debounceMs: 100 });
    const stop = await mesh.watchConfig(source);
    expect(await body('http://orders/')).toBe('s0');

    // Half written: cut in the middle.
    writeFileSync(path, config(1).slice(0, 30));
    await clock.advance(1_100);
    expect(await body('http://orders/')).toBe('s0');

    // Parseable but invalid: rejected whole with its paths.
    write(path, JSON.stringify({ services: { orders: { endpoints: [servers[1]!.url], retry: { attempts: 0 } }, Bad: {} } }));
    await clock.advance(1_100);
    expect(await body('http://orders/')).toBe('s0');

    write(path, config(1, '\n'));
    await clock.advance(1_100);
    expect(await body('http://orders/')).toBe('s1');

    stop();
    write(path, config(0, '\n\n'));
    await clock.advance(5_000);
    expect(await body('http://orders/')).toBe('s1');
    expect(clock.pending()).toBe(0);

    const name = `file:${path}`;
    expect(events).toEqual([
      ['applied', 2, name],
      ['rejected', [''], name],
      ['rejected', ['services.orders.retry.attempts', 'services.Bad'], name],
      ['applied', 3, name],
    ]);
  });

  it('reads YAML (the optional peer yaml) and honours $schema', async () => {
    const path = join(dir, 'mesh.yaml');
    write(path, `$schema: ../node_modules/proxyless/dist/schema.json\nservices:\n  orders:\n    endpoints:\n      - ${servers[1]!.url}\n`);
    await mesh.watchConfig(fileConfigSource(path, { pollIntervalMs: 1_000 }));
    expect(await body('http://orders/')).toBe('s1');
    write(path, `services:\n  orders:\n    endpoints: [${servers[0]!.url}]\n    faults: { abort: { percent: 100, status: 418 } }\n`);
    await clock.advance(1_100);
    const res = await mesh.request('http://orders/');
    await res.body.text();
    expect(res.statusCode).toBe(418);
    write(path, 'services:\n  orders: [\n');
    await clock.advance(1_100);
    const again = await mesh.request('http://orders/');
    await again.body.text();
    expect(again.statusCode).toBe(418);
    expect(events.map((e) => (e as unknown[])[0])).toEqual(['applied', 'applied', 'rejected']);
  });

  it('a missing file is a rejected event; the file appearing later is applied; close stops the watch', async () => {
    const path = join(dir, 'later.json');
    await mesh.watchConfig(fileConfigSource(path, { pollIntervalMs: 1_000 }));
    write(path, config(0));
    await clock.advance(1_100);
    expect(await body('http://orders/')).toBe('s0');
    await mesh.close();
    expect(clock.pending()).toBe(0);
    expect(events).toEqual([
      ['rejected', [''], `file:${path}`],
      ['applied', 2, `file:${path}`],
    ]);
  });
});
