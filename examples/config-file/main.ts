// Configuration as data: the mesh takes its config from a watched YAML file.
// The file is edited live (a canary moves from 10% to 50%), then a broken
// edit is saved: it is rejected whole and the last good config keeps serving.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshClient, fileConfigSource, type ConfigEvent } from 'proxyless';

function listen(name: string): Promise<Server> {
  const server = createServer((_req, res) => res.end(name));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
const [v1, v2] = await Promise.all([listen('v1'), listen('v2')]);

const dir = mkdtempSync(join(tmpdir(), 'proxyless-config-example-'));
const file = join(dir, 'mesh.yaml');
const yaml = (canary: number) => `# yaml-language-server: $schema=../node_modules/proxyless/dist/schema.json
services:
  checkout:
    endpoints:
      - { url: ${urlOf(v1)}, labels: { version: v1 } }
      - { url: ${urlOf(v2)}, labels: { version: v2 } }
    routes:
      - name: canary
        split:
          - { subset: { version: v1 }, weight: ${100 - canary} }
          - { subset: { version: v2 }, weight: ${canary} }
    timeout: { perTryMs: 1000 }
`;
// Save atomically (write a temporary file, then rename), as editors and config tools should.
const save = (text: string) => {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
};

const mesh = new MeshClient({});
const next = (type: ConfigEvent['type']) =>
  new Promise<ConfigEvent>((resolve) => {
    const on = (e: ConfigEvent) => {
      if (e.type !== type) return;
      mesh.off('config', on);
      resolve(e);
    };
    mesh.on('config', on);
  });

async function tally(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = await (await mesh.request('http://checkout/')).body.text();
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

save(yaml(10));
mesh.on('config', (e) =>
  console.log(e.type === 'applied' ? `config applied: version ${e.version} from ${e.source ?? 'code'}` : `config rejected: ${e.issues.map((i) => `${i.path || '(file)'}: ${i.message}`).join('; ')}`),
);
const stop = await mesh.watchConfig(fileConfigSource(file, { debounceMs: 50, pollIntervalMs: 500 }));
console.log('canary at 10%:', await tally(200));

let applied = next('applied');
save(yaml(50));
await applied;
console.log('canary at 50%:', await tally(200));

let rejected = next('rejected');
save(yaml(50).replace('perTryMs: 1000', 'perTryMs: -5'));
await rejected;
rejected = next('rejected');
save('services:\n  checkout: [\n'); // half written
await rejected;
console.log('after two bad saves, still 50%:', await tally(200));

applied = next('applied');
save(yaml(100));
await applied;
console.log('promoted:', await tally(50));

stop();
await mesh.close();
await Promise.all([v1, v2].map((s) => new Promise((r) => s.close(r))));
rmSync(dir, { recursive: true, force: true });
