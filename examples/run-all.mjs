// Runs every example (examples/*.ts and examples/*/main.ts) with tsx, one at a time,
// each with a time limit; fails if any exits non-zero. CI runs this.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const skip = new Set(['demo.ts']); // the demo runs separately (npm run demo -- --ci)
const files = [];
for (const name of readdirSync(here).sort()) {
  const full = join(here, name);
  if (statSync(full).isDirectory()) {
    if (existsSync(join(full, 'main.ts'))) files.push(join(name, 'main.ts'));
  } else if (name.endsWith('.ts') && !skip.has(name)) files.push(name);
}
let failed = 0;
for (const file of files) {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, file)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
    encoding: 'utf8',
  });
  const ok = r.status === 0;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${file} (${Date.now() - started} ms)`);
  if (!ok) console.log(r.stdout, r.stderr, r.error ?? '');
}
console.log(`examples: ${files.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
