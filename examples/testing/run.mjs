// Runs the example test suites of examples/testing, one per framework: vitest, jest (ESM) and
// node:test. CI runs it through `npm run test:examples-testing` (which builds first: the examples
// import 'proxyless/testing' from dist/, as users do).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const env = { ...process.env };
const bin = (name) => join(root, 'node_modules', name);

const nodeTestFiles = readdirSync(join(here, 'node-test'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => relative(root, join(here, 'node-test', f)));

const suites = [
  ['vitest', [bin('vitest/vitest.mjs'), 'run', '--config', 'examples/testing/vitest.config.ts']],
  ['jest', ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', bin('jest/bin/jest.js'), '-c', 'examples/testing/jest.config.mjs']],
  ['node:test', ['--import', 'tsx', '--test', ...nodeTestFiles]],
];

let failed = 0;
for (const [name, args] of suites) {
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit', timeout: 300_000 });
  if (r.status !== 0) {
    failed++;
    console.log(`${name}: FAILED (exit ${r.status ?? r.signal})`);
  }
}
console.log(`\nexamples-testing suites: ${suites.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
