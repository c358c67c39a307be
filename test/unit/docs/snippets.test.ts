import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { allSnippets, appearsIn, optionsProgram, rewriteImports, type Snippet } from '../../helpers/snippets.js';

// Every ts/js code block of README.md and docs/ runs as shown, or is a marked
// fragment; the rules are in test/helpers/snippets.ts and docs/testing.md
// ("How docs snippets are checked").

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = join(root, 'test', '.snippets');
const exportsMap = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports;
const LIMIT_MS = 30_000;
/**
 * A ratchet: the fragments marked today. Make a fragment runnable and lower
 * this; a new page's snippets run, they do not raise it.
 */
const MAX_FRAGMENTS = 4;
const snippets = allSnippets(root);

// One snippet process at a time: vitest runs other test files on the other
// workers meanwhile, and their timing tests must not starve.
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 1) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Writes a snippet to test/.snippets/ with its imports pointed at src/; returns the path. */
function write(s: Snippet): string {
  mkdirSync(dir, { recursive: true });
  const name = `${s.file.replace(/[^a-z0-9]+/gi, '-')}-${s.line}.${s.lang === 'ts' ? 'ts' : 'mjs'}`;
  const path = join(dir, name);
  const code = s.options ? optionsProgram(s, 'proxyless') : s.code;
  writeFileSync(path, `// ${s.file}:${s.line}${s.options ? ` (options: ${s.options})` : ''}\n${rewriteImports(code, exportsMap, '../..')}`);
  return path;
}

function run(s: Snippet): Promise<{ code: number | null; output: string }> {
  const path = write(s);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n(killed: still running after ${LIMIT_MS} ms; a snippet must close what it opens)`;
      child.kill('SIGKILL');
    }, LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * Syntax errors of a fragment, read as statements or, failing that, as the
 * members of an object literal (an option block like `retry: { ... }`, one
 * option a line, alternatives allowed). Empty when one reading parses.
 */
function syntaxErrors(code: string): string[] {
  const members = code.replace(/([}\]'"\w])[ \t]*(\/\/[^\n]*)?\n(?=\s*[\w'"]+\??:)/g, '$1, $2\n');
  let first: string[] | undefined;
  for (const candidate of [code, `({\n${code}\n})`, `({\n${members}\n})`, `(${code})`]) {
    const out = ts.transpileModule(candidate, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
    const errors = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    if (errors.length === 0) return [];
    first ??= errors;
  }
  return first!;
}

/** Whether the harness runs the block itself: a program, or an option block's generated one. */
const runs = (s: Snippet): boolean => s.fragment === undefined && s.within === undefined;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs snippets', () => {
  it('finds the snippets, and keeps fragments few', () => {
    expect(snippets.length).toBeGreaterThan(40);
    const fragments = snippets.filter((s) => s.fragment !== undefined).length;
    expect(fragments, 'new fragments: make the snippet runnable instead (see test/helpers/snippets.ts)').toBeLessThanOrEqual(MAX_FRAGMENTS);
  });

  it('the runnable TypeScript snippets type-check against src/ (one tsc run)', { timeout: 180_000 }, async () => {
    const files = snippets.filter((s) => runs(s) && s.lang === 'ts').map(write);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { noEmit: true, rootDir: '../..', declaration: false, declarationMap: false, sourceMap: false },
        files: files.map((f) => f.slice(dir.length + 1)),
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await slot(
      () =>
        new Promise<{ code: number | null; output: string }>((resolve) => {
          const child = spawn(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
          let output = '';
          child.stdout.on('data', (d: Buffer) => (output += d.toString()));
          child.stderr.on('data', (d: Buffer) => (output += d.toString()));
          child.on('close', (code) => resolve({ code, output }));
        }),
    );
    // Each file's first line names its page and line: `// docs/x.md:12`.
    expect(r.code, `type errors in docs snippets (test/.snippets/<page>-<line>.ts):\n${r.output}`).toBe(0);
  });

  for (const s of snippets) {
    if (s.fragment !== undefined) {
      it(`${s.file}:${s.line} parses (fragment: ${s.fragment})`, () => {
        expect(syntaxErrors(s.code)).toEqual([]);
      });
      continue;
    }
    if (s.within !== undefined) {
      const within = s.within;
      it(`${s.file}:${s.line} appears as written in ${within}`, () => {
        const path = join(root, within);
        expect(existsSync(path), `${within} does not exist`).toBe(true);
        expect(appearsIn(s.code, readFileSync(path, 'utf8')), `${s.file}:${s.line} is not in ${within} as written:\n${s.code}`).toBe(true);
      });
      continue;
    }
    it.concurrent(`${s.file}:${s.line} ${s.options ? `is valid ${s.options} options` : 'runs'}`, { timeout: LIMIT_MS * 4 }, async () => {
      const r = await slot(() => run(s));
      expect(r.code, `${s.file}:${s.line} exited ${r.code}:\n${r.output}`).toBe(0);
    });
  }
});
