/**
 * `npm run bench`: the side-by-side suite and the balancer benchmarks, measuring the built package (`dist/`).
 *
 *   npm run bench                           the judged run (about 10 minutes on 2 cores); writes test/bench/results.json,
 *                                           test/bench/results.svg and the generated part of docs/benchmarks.md
 *   npm run bench -- --quick                the same, shorter (a few minutes)
 *   npm run bench -- --smoke                seconds, what CI runs; writes only .bench-out/smoke.json (as a partial run does)
 *   npm run bench -- --baseline <dir>       also measures the full stack of another build, paired with this one
 *   npm run bench -- --only saturation,...  some of: saturation, latency, memory, balancers
 *   npm run bench -- --out <file.json>      results there, docs untouched
 *   npm run bench -- --no-pin               client and target left to the scheduler
 *   npm run bench -- --render [file.json]   renders the page and the chart again from a results file
 *
 * A benchmark is not a test: no target fails the run.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import balancers from './balancers.js';
import quality from './balancer-quality.js';
import { renderMarkdown, renderSvg, splice } from './report.js';
import { canPin, startHop, startTarget, type Hop } from './servers.js';
import { LABELS, latency, memory, PLANS, saturation, type Mode, type Results } from './suite.js';
import { loadBuild, ROOT, type Context } from './variants.js';

const PARTS = ['saturation', 'latency', 'memory', 'balancers'] as const;
export const RESULTS = join(ROOT, 'test/bench/results.json');

export interface Options {
  mode: Mode;
  only: readonly (typeof PARTS)[number][];
  baseline?: string;
  out?: string;
  render?: string;
  /** Pin the client to CPU 0 and the target to CPU 1 where possible (default); `--no-pin` leaves them to the scheduler. */
  pin?: boolean;
}

export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { mode: 'full', only: PARTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--smoke' || arg === '--quick' || arg === '--full') options.mode = arg.slice(2) as Mode;
    else if (arg === '--baseline') options.baseline = value();
    else if (arg === '--out') options.out = value();
    else if (arg === '--no-pin') options.pin = false;
    else if (arg === '--render') options.render = argv[i + 1]?.endsWith('.json') ? argv[++i]! : RESULTS;
    else if (arg === '--only') {
      options.only = value().split(',') as Options['only'];
      for (const p of options.only) if (!PARTS.includes(p)) throw new Error(`--only: unknown part ${p} (${PARTS.join(', ')})`);
    } else throw new Error(`unknown argument ${arg} (see test/bench/run.ts)`);
  }
  return options;
}

/** Runs what `options` asks and returns the results (written by {@link main}). */
export async function runBench(options: Options): Promise<Results> {
  const started = Date.now();
  const plan = PLANS[options.mode];
  const pinned = options.pin !== false && canPin();
  const loadAverage = loadavg();
  const { build } = await loadBuild();
  const baseline = options.baseline === undefined ? undefined : (await loadBuild(options.baseline)).build;
  const results: Results = {
    meta: {
      mode: options.mode,
      node: process.version,
      undici: (JSON.parse(readFileSync(join(ROOT, 'node_modules/undici/package.json'), 'utf8')) as { version: string }).version,
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      pinned,
      loadAverage,
      durationS: 0,
      hops: {},
      ...(options.baseline ? { baseline: relative(ROOT, options.baseline) || '.' } : {}),
    },
    plan,
    labels: LABELS,
    unavailable: {},
    pairs: [],
    tables: [],
  };
  const { child, ports } = await startTarget(4, pinned);
  const hops: Hop[] = [];
  try {
    const ctx: Context = { origins: ports.small.map((p) => `http://127.0.0.1:${p}`), connections: 8, hops: {}, build, ...(baseline ? { baseline } : {}) };
    if (options.only.includes('saturation') || options.only.includes('latency')) {
      for (const name of ['haproxy', 'nginx'] as const) {
        const hop = await startHop(name, ports.small, ctx.connections);
        if (typeof hop === 'string') results.unavailable[name] = hop;
        else {
          hops.push(hop);
          ctx.hops[name] = hop.origin;
          results.meta.hops[name] = hop.version;
        }
      }
    }
    if (options.only.includes('saturation')) results.pairs = await saturation(ctx, plan, results.unavailable);
    if (options.only.includes('latency')) results.latency = await latency(ctx, plan, results.unavailable);
    if (options.only.includes('memory')) Object.assign(results, await memory(ports, plan));
    if (options.only.includes('balancers')) results.tables = [await balancers({ smoke: options.mode === 'smoke' }), await quality({ smoke: options.mode === 'smoke' })];
  } finally {
    for (const hop of hops) await hop.stop();
    child.stdin?.end();
  }
  results.meta.durationS = Math.round((Date.now() - started) / 1000);
  return results;
}

/** Writes the results, and for a results file of this checkout's, the chart beside it and the page. */
export function write(results: Results, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
  if (file !== RESULTS) return;
  const svg = file.replace(/\.json$/, '.svg');
  writeFileSync(svg, renderSvg(results));
  const page = join(ROOT, 'docs/benchmarks.md');
  writeFileSync(page, splice(readFileSync(page, 'utf8'), renderMarkdown(results, relative(dirname(page), svg))));
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.render) {
    const results = JSON.parse(readFileSync(options.render, 'utf8')) as Results;
    return write(results, RESULTS);
  }
  const results = await runBench(options);
  // Only a whole run replaces the current results (and the page); a smoke or partial one goes to .bench-out/.
  const whole = options.mode !== 'smoke' && options.only.length === PARTS.length;
  const file = options.out ?? (whole ? RESULTS : join(ROOT, `.bench-out/${options.mode}.json`));
  write(results, file);
  process.stdout.write(`${renderMarkdown(results, 'results.svg')}\nresults: ${relative(ROOT, file)} (${results.meta.durationS} s)\n`);
}

if (process.argv[1] === import.meta.filename) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
