import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));

/** Type-checks test/types/fetch/assignable.ts with one of its tsconfigs; resolves tsc's output. */
function typecheck(config: 'node' | 'dom'): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [tsc, '-p', `test/types/fetch/tsconfig.${config}.json`], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('mesh.fetch types', () => {
  it("is assignable to typeof globalThis.fetch with Node's globals (no DOM lib)", () => {
    const r = typecheck('node');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('is assignable to typeof globalThis.fetch with the DOM lib', () => {
    const r = typecheck('dom');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
