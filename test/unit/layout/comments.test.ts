import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Comments in src/ state rules, never measured figures (they go stale; the
// benchmarks and docs/benchmarks.md hold them) nor documents outside the
// repository ("issue 4", "STYLE 5").

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The text of every comment of a TypeScript source. */
function comments(text: string): string[] {
  const out: string[] = [];
  const scanner = ts.createScanner(ts.ScriptTarget.ES2022, false, ts.LanguageVariant.Standard, text);
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia) out.push(scanner.getTokenText());
  }
  return out;
}

const FIGURE = /\b\d[\d.,]*\s?(ns|µs|us)\b/;
const OUTSIDE = /\b(issue|STYLE|DESIGN)\s+#?\d+\b/;

describe('source comments', () => {
  const found: string[] = [];
  for (const file of sources(join(root, 'src'))) {
    for (const c of comments(readFileSync(file, 'utf8'))) {
      for (const line of c.split('\n')) {
        if (FIGURE.test(line) || OUTSIDE.test(line)) found.push(`${relative(root, file)}: ${line.trim()}`);
      }
    }
  }

  it('quote no measured timings and point at no document outside the repository', () => {
    expect(found).toEqual([]);
  });

  it('the check finds what it looks for', () => {
    expect(comments('const a = 1; // about 260 ns per timer\n/* see issue 4 */')).toHaveLength(2);
    expect(FIGURE.test('about 260 ns per timer')).toBe(true);
    expect(OUTSIDE.test('see issue 4')).toBe(true);
    expect(FIGURE.test('a 10,000 ms window')).toBe(false);
  });
});
