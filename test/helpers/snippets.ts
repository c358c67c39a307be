import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

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
 * - A block that is not a program alone is marked by an HTML comment on the
 *   line before its fence (blank lines allowed), and checked another way:
 *   - `<!-- snippet: options: service -->` (or `options: config`): the block is
 *     the members of a service's options (or of a MeshClient config), one
 *     option or alternative a line. Each member becomes a config that a
 *     generated program type-checks and gives to `new MeshClient` (so an
 *     invalid option fails), then closes.
 *   - `<!-- snippet: in: examples/x.ts -->`: the block appears as written (line
 *     by line, indentation aside) in that example or test file, where it runs
 *     in the context it needs (a mesh set up earlier on the page, a scripted
 *     state). The file must be an example (CI runs them all) or a
 *     `test/**\/*.test.ts` file.
 *   - `<!-- snippet: fragment: <why> -->`: cannot run here (a type's shape,
 *     code needing an etcd server or the reader's app). The reason is required
 *     and shows in the markdown source. Fragments are only parsed (a syntax
 *     error fails the test). They are a ratchet: keep them few.
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
  /** The example or test file the block appears in, when marked `in:`. */
  readonly within: string | undefined;
  /** The level of an option block, when marked `options:`. */
  readonly options: 'service' | 'config' | undefined;
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
    let within: string | undefined;
    let options: 'service' | 'config' | undefined;
    if (mark) {
      const [, kind, arg] = mark;
      if (kind === 'fragment') {
        if (!arg) throw new Error(`${file}:${k + 1}: a fragment marker needs a reason: <!-- snippet: fragment: why -->`);
        fragment = arg;
      } else if (kind === 'in') {
        if (!arg || !/^(examples\/.+\.ts|test\/.+\.test\.ts)$/.test(arg)) {
          throw new Error(`${file}:${k + 1}: "in" names an example or a test file that CI runs: <!-- snippet: in: examples/x.ts --> (got "${arg ?? ''}")`);
        }
        within = arg;
      } else if (kind === 'options') {
        if (arg !== 'service' && arg !== 'config') throw new Error(`${file}:${k + 1}: "options" is "options: service" or "options: config" (got "${arg ?? ''}")`);
        options = arg;
      } else {
        throw new Error(`${file}:${k + 1}: unknown snippet marker "${kind}" (fragment, in, options)`);
      }
    }
    const lang = m[2]!.startsWith('t') ? 'ts' : 'js';
    out.push({ file, line: i + 1, lang, code: body.join('\n') + '\n', fragment, within, options });
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

/** A text's non-blank lines with their indentation and trailing spaces removed. */
function normalizedLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/**
 * Whether `code` appears in `text` as written: its non-blank lines, in order
 * and adjacent, indentation aside (a block inside a test's `it` is indented).
 */
export function appearsIn(code: string, text: string): boolean {
  const want = normalizedLines(code);
  const have = normalizedLines(text);
  if (want.length === 0) return false;
  outer: for (let i = 0; i + want.length <= have.length; i++) {
    for (let j = 0; j < want.length; j++) if (have[i + j] !== want[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * The members of an option block, each as the source text of one property
 * (`retry: { ... }`), comments dropped. Lines are read as object members, so a
 * block may list alternatives of one option a line. Throws when the block is
 * not a list of properties.
 */
export function optionMembers(code: string): string[] {
  const members = code.replace(/([}\]'"\w])[ \t]*(\/\/[^\n]*)?\n(?=\s*[\w'"]+\??:)/g, '$1, $2\n');
  for (const candidate of [code, members]) {
    const text = `({\n${candidate}\n})`;
    const out = ts.transpileModule(text, { reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022 } });
    if ((out.diagnostics ?? []).length > 0) continue;
    const sf = ts.createSourceFile('block.ts', text, ts.ScriptTarget.ES2022, true);
    const stmt = sf.statements[0];
    const expr = stmt && ts.isExpressionStatement(stmt) && ts.isParenthesizedExpression(stmt.expression) ? stmt.expression.expression : undefined;
    if (!expr || !ts.isObjectLiteralExpression(expr)) break;
    const props = expr.properties.map((p) => {
      if (!ts.isPropertyAssignment(p)) throw new Error(`not an option: ${p.getText(sf)}`);
      return p.getText(sf);
    });
    if (props.length > 0) return props;
  }
  throw new Error('an option block is a list of options, one `name: value` a line');
}

/**
 * The program that checks an option block: each member is one config, typed
 * (`ServiceOptions` or `MeshClientOptions`) and given to `new MeshClient`,
 * which throws on an invalid option. `src` is the import path of the package's
 * main entry.
 */
export function optionsProgram(s: Snippet, src: string): string {
  const configs = optionMembers(s.code).map((m) => `  {\n${m}\n  },`).join('\n');
  const service = s.options === 'service';
  return [
    `import { MeshClient, type ${service ? 'ServiceOptions' : 'MeshClientOptions'} } from '${src}';`,
    `const configs: ${service ? 'ServiceOptions' : 'MeshClientOptions'}[] = [`,
    configs,
    '];',
    'for (const c of configs) {',
    service ? "  const mesh = new MeshClient({ services: { docs: { endpoints: ['http://127.0.0.1:9'], ...c } } });" : '  const mesh = new MeshClient(c);',
    '  await mesh.close();',
    '}',
    `console.log(configs.length, 'valid');`,
    '',
  ].join('\n');
}
