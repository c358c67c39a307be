import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The repository's own lint configuration, run over a tiny src/ tree: the
// layer rules (.ci/eslint-plugin-layers.js) must report a file cycle, type
// imports included, and an import that points up or sideways.
const CONFIG = fileURLToPath(new URL('../../../.ci/eslint.config.js', import.meta.url));

const FIXTURE: Record<string, string> = {
  // A type-only cycle inside one folder.
  'src/client/a.ts': "import type { B } from './b.js';\nexport type A = { b?: B };\n",
  'src/client/b.ts': "import type { A } from './a.js';\nexport type B = { a?: A };\n",
  // Pointing down: allowed.
  'src/client/down.ts': "import { low } from '../util/low.js';\nexport const down = low;\n",
  'src/util/low.ts': 'export const low = 1;\n',
  // Pointing up, by a dynamic import.
  'src/util/up.ts': "export const up = () => import('../client/down.js');\n",
  // Sideways: routing and health are on the same level.
  'src/routing/side.ts': "export { checked } from '../health/checked.js';\n",
  'src/health/checked.ts': 'export const checked = true;\n',
  // A folder the layer order does not list.
  'src/extra/new.ts': 'export const extra = 1;\n',
};

let root: string;
let results: Record<string, string[]>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'proxyless-layers-'));
  for (const [path, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const eslint = new ESLint({ cwd: root, overrideConfigFile: CONFIG });
  results = {};
  for (const r of await eslint.lintFiles(['src/**/*.ts'])) {
    const path = r.filePath.slice(root.length + 1).split('\\').join('/');
    results[path] = r.messages.filter((m) => m.ruleId?.startsWith('layers/')).map((m) => `${m.ruleId}: ${m.message}`);
  }
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('lint: layers that only point down', () => {
  it('reports each side of a file cycle, type imports included', () => {
    expect(results['src/client/a.ts']).toEqual([
      'layers/no-cycle: Import cycle: src/client/a.ts -> src/client/b.ts -> src/client/a.ts. Move what both sides need to a module below them.',
    ]);
    expect(results['src/client/b.ts']).toEqual([
      'layers/no-cycle: Import cycle: src/client/b.ts -> src/client/a.ts -> src/client/b.ts. Move what both sides need to a module below them.',
    ]);
  });

  it('reports an import that points up, dynamic imports included', () => {
    expect(results['src/util/up.ts']).toEqual([
      'layers/folder-order: util/ may not import client/ (../client/down.js): client/ is not below util/ in the layer order of .ci/eslint.config.js.',
    ]);
  });

  it('reports an import sideways, between folders on one level', () => {
    expect(results['src/routing/side.ts']).toEqual([
      'layers/folder-order: routing/ may not import health/ (../health/checked.js): health/ is not below routing/ in the layer order of .ci/eslint.config.js.',
    ]);
  });

  it('reports a folder missing from the layer order', () => {
    expect(results['src/extra/new.ts']).toEqual([
      'layers/folder-order: extra/ is not in the layer order of .ci/eslint.config.js: add it where it belongs.',
    ]);
  });

  it('accepts imports that point down and files that import nothing', () => {
    expect(results['src/client/down.ts']).toEqual([]);
    expect(results['src/util/low.ts']).toEqual([]);
    expect(results['src/health/checked.ts']).toEqual([]);
  });
});
