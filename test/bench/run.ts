/**
 * Runs every benchmark in test/bench (each file other than this one exports a
 * default `(options) => Promise<BenchReport>`), one after another, and prints
 * their tables as Markdown.
 *
 *   npm run bench                      # full run (a minute or two)
 *   npm run bench -- --smoke           # a few seconds: checks that benches run (CI)
 *   npm run bench -- balancers         # only files whose name contains "balancers"
 *   npm run bench -- --full compare    # the side-by-side suite, full length (about 30 min)
 *
 * A benchmark is not a test: numbers depend on the machine and its load.
 * Record figures in docs/benchmarks.md with the machine and Node version.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Options every benchmark receives. */
export interface BenchOptions {
  /** A seconds-long run that only proves the benchmark works. */
  readonly smoke: boolean;
}

/** What a benchmark returns: titled Markdown tables. */
export interface BenchReport {
  readonly title: string;
  readonly tables: { readonly title: string; readonly header: string[]; readonly rows: string[][] }[];
}

/** Formats one table as Markdown. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const filters = args.filter((a) => !a.startsWith('--'));
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.ts') && f !== basename(fileURLToPath(import.meta.url)))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  console.log(
    `# proxyless benchmarks${smoke ? ' (smoke run: numbers are not meaningful)' : ''}\n\n` +
      `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}\n`,
  );
  for (const file of files) {
    const module = (await import(pathToFileURL(join(here, file)).href)) as {
      default?: (options: BenchOptions) => Promise<BenchReport>;
    };
    if (typeof module.default !== 'function') continue;
    const started = performance.now();
    const report = await module.default({ smoke });
    console.log(`## ${report.title} (${file}, ${Math.round(performance.now() - started)} ms)\n`);
    for (const table of report.tables) {
      console.log(`### ${table.title}\n\n${markdownTable(table.header, table.rows)}\n`);
    }
  }
  // The side-by-side suite pins its own process and needs --expose-gc: it runs as a child.
  if (filters.length === 0 || filters.some((x) => 'compare'.includes(x))) {
    const mode = smoke ? '--smoke' : args.includes('--full') ? '--full' : '--quick';
    console.log(`## Side by side (test/bench/compare, ${mode})\n`);
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'compare', 'main.ts'), mode], { stdio: 'inherit' });
    if (child.status !== 0) throw new Error(`the side-by-side suite failed (exit ${child.status ?? child.signal})`);
  }
}

// Run only when executed, not when a bench file imports the helpers above.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
