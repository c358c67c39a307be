// File discovery: endpoints come from a JSON file that the mesh watches.
// Shows an endpoint joining and leaving, a broken file being ignored, and mesh.health().
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshClient, fileDiscovery } from 'proxyless';

async function serve(name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

const dir = mkdtempSync(join(tmpdir(), 'proxyless-file-example-'));
const file = join(dir, 'endpoints.json');
// Write the whole file then rename it: readers never see half a file.
const write = (content: unknown): void => {
  writeFileSync(`${file}.tmp`, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  renameSync(`${file}.tmp`, file);
};
const [a, b, c] = await Promise.all([serve('a'), serve('b'), serve('c')]);
write({ orders: [a.url, { url: b.url, weight: 2 }] });

const mesh = new MeshClient({ discovery: fileDiscovery(file, { debounceMs: 50 }), services: { orders: {} } });
mesh.on('health', (e) => console.log(`  [health] ${e.type} ${e.endpoint ?? ''}${e.reason ? ` (${e.reason})` : ''}`));

async function spread(label: string): Promise<void> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 12; i++) {
    const body = await (await mesh.request('http://orders/')).body.text();
    counts[body] = (counts[body] ?? 0) + 1;
  }
  console.log(`${label}: 12 requests ->`, counts);
}
const changed = (n: number) =>
  new Promise<void>((resolve) => {
    const check = () => (mesh.snapshot().services.orders!.endpoints.length === n ? resolve() : setTimeout(check, 20));
    check();
  });

await spread('from the file (a, b)');
console.log('c joins:');
write({ orders: [a.url, { url: b.url, weight: 2 }, c.url] });
await changed(3);
await spread('after the join');
console.log('a leaves:');
write({ orders: [{ url: b.url, weight: 2 }, c.url] });
await changed(2);
await spread('after the leave');
console.log('a half-written file is ignored, never applied:');
write('{"orders": ["http://127.0.0.1:1"');
await new Promise((r) => setTimeout(r, 300));
await spread('still serving the last good set');
console.log('health:', JSON.stringify(mesh.health().services.orders));

await mesh.close();
await Promise.all([a, b, c].map((s) => new Promise((r) => s.server.close(r))));
rmSync(dir, { recursive: true, force: true });
