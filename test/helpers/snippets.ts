import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The code blocks of the docs, as the snippet harness (test/unit/docs/snippets.test.ts)
 * sees them. The rules, also in docs/testing.md ("How docs snippets are checked"):
 *
 * - Every ```ts / ```typescript / ```js / ```javascript block in README.md and
 *   docs/**\/*.md is a snippet. Other fences (json, sh, text, none) are not.
 * - A snippet is a complete program by default: it is written to
 *   test/.snippets/, its `proxyless` imports are pointed at src/, `vitest`
 *   imports at a small sequential runner (test/helpers/snippet-vitest.ts), and
 *   it is run with tsx in a child process; it must exit 0 within the time
 *   limit (so it must close what it opens: servers, meshes, timers). The
 *   runnable ts blocks are also type-checked together in one tsc run.
 * - A block that cannot run alone (a type signature, part of a config, code
 *   needing the reader's app) is marked by an HTML comment on the line before
 *   its fence (blank lines allowed): `<!-- snippet: fragment: <why> -->`. The
 *   reason is required and shows in the markdown source. Fragments are only
 *   parsed (a syntax error fails the test). Keep them few.
 */
export interface Snippet {
  /** Repository-relative markdown file. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: 'ts' | 'js';
  readonly code: string;
  /** Why the block is not run, when it is marked as a fragment. */
  readonly fragment: string | undefined;
}

const FENCE = /^(\s*)```(ts|typescript|js|javascript)\s*$/;
const MARK = /^\s*<!--\s*snippet:\s*(\w+)(?::\s*(.*?))?\s*-->\s*$/;

/** Every snippet of one markdown text. Throws on an unknown or reason-less marker. */
export function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const out: Snippet[] = [];
  let fence: string | undefined; // the fence of a non-snippet block being skipped
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence !== undefined) {
      if (line.trim() === fence) fence = undefined;
      continue;
    }
    const m = FENCE.exec(line);
    if (!m) {
      const other = /^\s*(`{3,}|~{3,})/.exec(line);
      if (other) fence = other[1];
      continue;
    }
    const indent = m[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && lines[j]!.trim() !== '```'; j++) body.push(lines[j]!.slice(Math.min(indent, lines[j]!.search(/\S|$/))));
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const mark = k >= 0 ? MARK.exec(lines[k]!) : null;
    let fragment: string | undefined;
    if (mark) {
      if (mark[1] !== 'fragment') throw new Error(`${file}:${k + 1}: unknown snippet marker "${mark[1]}" (only "fragment")`);
      if (!mark[2]) throw new Error(`${file}:${k + 1}: a fragment marker needs a reason: <!-- snippet: fragment: why -->`);
      fragment = mark[2];
    }
    const lang = m[2]!.startsWith('t') ? 'ts' : 'js';
    out.push({ file, line: i + 1, lang, code: body.join('\n') + '\n', fragment });
    i = j;
  }
  return out;
}

/** The markdown files the harness reads: README.md and docs/**\/*.md (generated docs/api excluded). */
export function docFiles(root: string): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = join(dir, name);
      if (rel === join('docs', 'api')) continue;
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) files.push(rel);
    }
  };
  walk('docs');
  return files;
}

/** Every snippet of the repository's docs. */
export function allSnippets(root: string): Snippet[] {
  return docFiles(root).flatMap((f) => extractSnippets(relative(root, join(root, f)), readFileSync(join(root, f), 'utf8')));
}

/**
 * Points the package's import specifiers at the sources: `proxyless` and each
 * subpath of package.json `exports` (`./dist/x/index.js` is `src/x/index.ts`), and `vitest`
 * at the snippet runner. `toRoot` is the path from the snippet file to the repository root.
 */
export function rewriteImports(code: string, exportsMap: Record<string, unknown>, toRoot: string): string {
  const targets = new Map<string, string>();
  for (const [key, value] of Object.entries(exportsMap)) {
    const target = typeof value === 'string' ? value : (value as { default?: string }).default;
    if (!target || !target.startsWith('./dist/') || !target.endsWith('.js')) continue;
    targets.set(key === '.' ? 'proxyless' : `proxyless/${key.slice(2)}`, `${toRoot}/src/${target.slice('./dist/'.length)}`);
  }
  targets.set('vitest', `${toRoot}/test/helpers/snippet-vitest.js`);
  return code.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\2/g, (all, head: string, q: string, spec: string) => {
    const to = targets.get(spec);
    return to === undefined ? all : `${head}${q}${to}${q}`;
  });
}
