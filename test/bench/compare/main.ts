/**
 * proxyless side-by-side benchmark (issue 10): proxyless against raw undici,
 * cockatiel around fetch, and HAProxy / nginx hops, in one run.
 *
 *   npx tsx test/bench/compare/main.ts [--smoke | --quick | --full]
 *       [--scenarios saturation,undici,pipeline,latency,memory,leak]
 *       [--variants id,id,...] [--out file.json] [--no-docs] [--no-pin] [--latency-rounds N]
 *   npx tsx test/bench/compare/main.ts --render [file.json]   (docs only)
 *
 * --smoke: seconds, for CI, writes only .bench-out/compare-smoke.json.
 * --quick (default) and --full also write docs/benchmarks-compare.{json,md}
 * and docs/benchmarks-throughput.png. No target fails the run.
 *
 * Layout: this process runs the client variants (pinned to CPU 0 where
 * there are 2+ CPUs and `taskset`); the target servers run in a child
 * pinned to CPU 1; the proxies are left to the scheduler (a sidecar shares
 * the machine). Variants alternate A B C .. C B A over the rounds; every
 * ratio is taken within one round against raw undici.request.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { closedLoop, openLoop, openLoopInterleaved, type OpenResult } from './drivers.js';
import { instantTransport } from './in-process.js';
import { canPin, pin, processCpuUs, startTarget } from './proc.js';
import { startHaproxy, startNginx, type Proxy } from './proxies.js';
import { JUDGED_VARIANTS, pairings, renderDocs, type Pairing } from './report.js';
import {
  pairKey,
  type CompareResults,
  type LatencyScenario,
  type LatencySummary,
  type LeakResult,
  type MemoryResult,
  type Mode,
  type PairedSummary,
  type PairedThroughput,
  type PairSample,
  type ThroughputSample,
  type ThroughputScenario,
  type ThroughputSummary,
  type VariantInfo,
} from './results.js';
import { concat, median, medianInterval, percentile, slope, spread } from './stats.js';
import type { TargetPorts } from './target.js';
import { PROXYLESS_SOURCE } from './proxyless.js';
import { REFERENCE_ID, VARIANTS, type Runner, type Variant, type VariantContext } from './variants.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');

/** Sizes of each mode. */
interface Plan {
  rounds: number;
  windowMs: number;
  warmupMs: number;
  /**
   * An unmeasured run of the same variant right before each of its closed-loop windows. Variants share one
   * process, so a window starts with code (undici's, the SDK's) last run for another variant: measured in
   * 500 ms slices, the first after a switch cost up to twice the steady state (159 against 65–70 µs CPU per
   * request for the full stack with telemetry on), the more the more code a variant runs. A service runs one
   * client all the time; the pre-roll keeps that switch out of the window. It also takes the place of the full
   * collection the windows used to start with: a forced GC leaves a smaller heap limit behind, so incremental
   * marking (and its write barrier) starts sooner in the window, which cost raw undici.request 4–14 µs and the
   * telemetry-on stack 11–31 µs per request in 5 s windows (gc-ab.ts, docs/benchmarks.md).
   */
  prerollMs: number;
  latencyWindowMs: number;
  latencyRounds: number;
  /**
   * Rounds of the latency scenario for the variant the latency targets judge (the full stack, else balancing
   * only): the p99 of a 2 s window is its 20th-slowest request, so 30 rounds leave the paired p99's interval
   * about ±300 µs wide on a shared VM; the extra rounds, run after the other variants', narrow it.
   */
  latencySubjectRounds: number;
  /**
   * Pairs of adjacent windows (the reference's and a judged variant's, back to back, order alternating) run for
   * each variant whose saturation ratio a target judges, after the interleaved rounds: see PairedThroughput.
   */
  pairRounds: number;
  /** Length of each window of a pair. */
  pairWindowMs: number;
  memoryCounts: number[];
  leakRequests: number;
}

const PLANS: Record<Mode, Plan> = {
  smoke: {
    rounds: 2,
    windowMs: 100,
    warmupMs: 50,
    prerollMs: 20,
    latencyWindowMs: 100,
    latencyRounds: 2,
    latencySubjectRounds: 3,
    pairRounds: 2,
    pairWindowMs: 100,
    memoryCounts: [1, 100],
    leakRequests: 1_000,
  },
  quick: {
    rounds: 5,
    windowMs: 2_000,
    warmupMs: 1_000,
    prerollMs: 500,
    latencyWindowMs: 3_000,
    latencyRounds: 5,
    latencySubjectRounds: 5,
    pairRounds: 6,
    pairWindowMs: 1_000,
    memoryCounts: [1, 100, 10_000],
    leakRequests: 100_000,
  },
  full: {
    rounds: 10,
    windowMs: 5_000,
    warmupMs: 2_000,
    prerollMs: 1_000,
    latencyWindowMs: 2_000,
    latencyRounds: 30,
    latencySubjectRounds: 120,
    pairRounds: 30,
    pairWindowMs: 2_000,
    memoryCounts: [1, 100, 10_000],
    leakRequests: 1_000_000,
  },
};

const ENDPOINTS = 4;
const SCENARIOS = ['saturation', 'undici', 'pipeline', 'latency', 'memory', 'leak'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Options of {@link runCompare}. */
export interface CompareOptions {
  mode: Mode;
  scenarios: readonly Scenario[];
  /** Variant ids to run (the reference always runs). */
  variants?: readonly string[];
  /** Results JSON path; default .bench-out/compare-<mode>.json. */
  out?: string;
  /** Write docs/benchmarks-compare.{json,md} and the chart (default: not in smoke). */
  docs: boolean;
  /** Pin the client and the target to separate CPUs when possible (default true). */
  pin: boolean;
  /**
   * Rounds of the latency scenario, overriding the mode's (more rounds narrow the paired p99's interval); the
   * judged variant runs at least the mode's own number for it.
   */
  latencyRounds?: number;
}

export function parseArgs(argv: readonly string[]): CompareOptions | { render: string } {
  let mode: Mode = 'quick';
  let scenarios: Scenario[] = [...SCENARIOS];
  let variants: string[] | undefined;
  let out: string | undefined;
  let docs: boolean | undefined;
  let pinCpus = true;
  let latencyRounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--smoke' || arg === '--quick' || arg === '--full') mode = arg.slice(2) as Mode;
    else if (arg.startsWith('--scenarios')) {
      scenarios = value().split(',') as Scenario[];
      for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (${SCENARIOS.join(', ')})`);
    } else if (arg.startsWith('--variants')) {
      variants = value().split(',');
      const known = VARIANTS.map((v) => v.id);
      for (const v of variants) if (!known.includes(v)) throw new Error(`unknown variant ${v} (${known.join(', ')})`);
    }
    else if (arg.startsWith('--out')) out = value();
    else if (arg.startsWith('--latency-rounds')) {
      latencyRounds = Number(value());
      if (!Number.isInteger(latencyRounds) || latencyRounds < 1) throw new Error(`--latency-rounds must be a positive integer, got ${latencyRounds}`);
    }
    else if (arg === '--no-docs') docs = false;
    else if (arg === '--no-pin') pinCpus = false;
    else if (arg === '--docs') docs = true;
    else if (arg === '--render') return { render: argv[i + 1] ?? join(ROOT, 'docs/benchmarks-compare.json') };
    else throw new Error(`unknown argument ${arg}`);
  }
  return {
    mode,
    scenarios,
    ...(variants ? { variants } : {}),
    ...(out ? { out } : {}),
    ...(latencyRounds ? { latencyRounds } : {}),
    docs: docs ?? mode !== 'smoke',
    pin: pinCpus,
  };
}

/**
 * The command line that reproduces a run, recorded with its results: every
 * option that changes what is measured (the scenarios and variants when not
 * all, the latency rounds, pinning), not only the mode. `--out` and
 * `--no-docs` say where results go, so they are left out.
 */
export function commandLine(options: CompareOptions): string {
  const args = ['npx tsx test/bench/compare/main.ts', `--${options.mode}`];
  if (options.scenarios.length !== SCENARIOS.length || options.scenarios.some((s, i) => s !== SCENARIOS[i])) {
    args.push(`--scenarios ${options.scenarios.join(',')}`);
  }
  if (options.variants) args.push(`--variants ${options.variants.join(',')}`);
  if (options.latencyRounds) args.push(`--latency-rounds ${options.latencyRounds}`);
  if (!options.pin) args.push('--no-pin');
  return args.join(' ');
}

function log(message: string): void {
  process.stderr.write(`[compare] ${message}\n`);
}

function origins(ports: readonly number[]): string[] {
  return ports.map((p) => `http://127.0.0.1:${p}`);
}

/** Variants built in at least one scenario of this run. */
const builtSomewhere = new Set<string>();

/** Builds every selected variant for one profile; unavailable ones are recorded with their reason. */
async function buildAll(
  variants: readonly Variant[],
  ctx: VariantContext,
  infos: Map<string, VariantInfo>,
): Promise<{ runners: Map<string, Runner>; unavailable: Record<string, string> }> {
  const runners = new Map<string, Runner>();
  const unavailable: Record<string, string> = {};
  for (const v of variants) {
    const built = await v.build(ctx);
    const info = infos.get(v.id) ?? { id: v.id, label: v.label, description: v.description };
    if ('unavailable' in built) {
      unavailable[v.id] = built.unavailable;
      // A variant counts as unavailable only if no scenario could build it.
      if (!builtSomewhere.has(v.id)) info.unavailable = built.unavailable;
    } else {
      runners.set(v.id, built);
      builtSomewhere.add(v.id);
      delete info.unavailable;
    }
    infos.set(v.id, info);
  }
  return { runners, unavailable };
}


function order<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

async function closeAll(runners: Map<string, Runner>): Promise<void> {
  await Promise.all([...runners.values()].map((r) => r.close()));
}

async function throughput(
  title: string,
  ctx: VariantContext,
  proxies: Map<string, Proxy | string>,
  variants: readonly Variant[],
  infos: Map<string, VariantInfo>,
  plan: Plan,
  shape: { bodyBytes: number; serverDelayMs: number; concurrency: number; connectionsPerEndpoint: number },
  targetPid: number | undefined,
  /** Variants whose ratio a target judges, each with what it is judged against: measured again in adjacent pairs (see PairedThroughput). */
  judged: readonly Pairing[] = [],
): Promise<ThroughputScenario> {
  const { runners, unavailable } = await buildAll(variants, ctx, infos);
  const ids = [...runners.keys()];
  log(`${title}: ${ids.length} variants, ${plan.rounds} rounds x ${plan.windowMs} ms`);
  for (const id of ids) await closedLoop(runners.get(id)!, shape.concurrency, plan.warmupMs);
  const samples: ThroughputSample[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    for (const id of order(ids, round)) {
      const runner = runners.get(id)!;
      await closedLoop(runner, shape.concurrency, plan.prerollMs);
      const proxy = proxies.get(id);
      const proxyPid = typeof proxy === 'object' ? proxy.pid : undefined;
      const t0 = processCpuUs(targetPid);
      const p0 = processCpuUs(proxyPid);
      const r = await closedLoop(runner, shape.concurrency, plan.windowMs);
      const t1 = processCpuUs(targetPid);
      const p1 = processCpuUs(proxyPid);
      runner.endRound?.();
      const n = Math.max(1, r.requests);
      samples.push({
        round,
        variant: id,
        rps: (r.requests / r.elapsedMs) * 1000,
        requests: r.requests,
        errors: r.errors,
        serverErrors: r.serverErrors,
        cpuUsPerReq: r.cpuUs / n,
        targetCpuUsPerReq: t0 !== undefined && t1 !== undefined ? (t1 - t0) / n : null,
        proxyCpuUsPerReq: p0 !== undefined && p1 !== undefined ? (p1 - p0) / n : null,
        ...(r.firstError ? { firstError: r.firstError } : {}),
      });
    }
    const ref = samples.find((s) => s.round === round && s.variant === REFERENCE_ID);
    log(`  round ${round + 1}/${plan.rounds} done (raw ${ref ? Math.round(ref.rps) : '?'} req/s)`);
  }
  const pairs = await pairedWindows(title, runners, judged, plan, shape.concurrency);
  await closeAll(runners);
  const summary: Record<string, ThroughputSummary> = {};
  for (const id of ids) {
    const mine = samples.filter((s) => s.variant === id);
    const ratios: number[] = [];
    const added: number[] = [];
    for (const s of mine) {
      const ref = samples.find((x) => x.round === s.round && x.variant === REFERENCE_ID);
      if (ref) {
        ratios.push(s.rps / ref.rps);
        added.push(s.cpuUsPerReq - ref.cpuUsPerReq);
      }
    }
    const proxyCpu = mine.map((s) => s.proxyCpuUsPerReq).filter((v): v is number => v !== null);
    const firstError = mine.find((s) => s.firstError)?.firstError;
    summary[id] = {
      rps: spread(mine.map((s) => s.rps)),
      ratio: spread(ratios),
      cpuUsPerReq: spread(mine.map((s) => s.cpuUsPerReq)),
      addedCpuUs: spread(added),
      targetCpuUsPerReq: spread(mine.map((s) => s.targetCpuUsPerReq ?? Number.NaN)),
      proxyCpuUsPerReq: proxyCpu.length > 0 ? spread(proxyCpu) : null,
      errors: mine.reduce((a, s) => a + s.errors, 0),
      ...(firstError ? { firstError } : {}),
    };
  }
  return { title, ...shape, endpoints: ENDPOINTS, rounds: plan.rounds, windowMs: plan.windowMs, prerollMs: plan.prerollMs, unavailable, samples, summary, ...(pairs ? { pairs } : {}) };
}

/**
 * Each pairing (of variants built) in `plan.pairRounds` pairs of adjacent windows, the reference first in even
 * rounds and second in odd ones; undefined when there is nothing to pair.
 */
async function pairedWindows(
  title: string,
  runners: Map<string, Runner>,
  judged: readonly Pairing[],
  plan: Plan,
  concurrency: number,
): Promise<PairedThroughput | undefined> {
  const todo = judged.filter((p) => p.variant !== p.reference && runners.has(p.variant) && runners.has(p.reference));
  if (todo.length === 0 || plan.pairRounds < 1) return undefined;
  const named = todo.map((p) => (p.reference === REFERENCE_ID ? p.variant : `${p.variant} (against ${p.reference})`));
  log(`${title}: ${named.join(', ')}, each in ${plan.pairRounds} pairs of adjacent ${plan.pairWindowMs} ms windows with its reference`);
  const window = async (runner: Runner) => {
    await closedLoop(runner, concurrency, plan.prerollMs);
    const r = await closedLoop(runner, concurrency, plan.pairWindowMs);
    runner.endRound?.();
    return r;
  };
  const samples: PairSample[] = [];
  for (let round = 0; round < plan.pairRounds; round++) {
    for (const { variant, reference } of order(todo, round)) {
      const runner = runners.get(variant)!;
      const ref = runners.get(reference)!;
      const referenceFirst = round % 2 === 0;
      const first = await window(referenceFirst ? ref : runner);
      const second = await window(referenceFirst ? runner : ref);
      const [theirs, mine] = referenceFirst ? [first, second] : [second, first];
      samples.push({
        round,
        variant,
        rps: (mine.requests / mine.elapsedMs) * 1000,
        referenceRps: (theirs.requests / theirs.elapsedMs) * 1000,
        cpuUsPerReq: mine.cpuUs / Math.max(1, mine.requests),
        referenceCpuUsPerReq: theirs.cpuUs / Math.max(1, theirs.requests),
        errors: mine.errors + theirs.errors,
        referenceFirst,
        ...(reference === REFERENCE_ID ? {} : { reference }),
      });
    }
    if ((round + 1) % 10 === 0 || round + 1 === plan.pairRounds) log(`  pair round ${round + 1}/${plan.pairRounds} done`);
  }
  const summary: Record<string, PairedSummary> = {};
  for (const { variant, reference } of todo) {
    const mine = samples.filter((s) => s.variant === variant && (s.reference ?? REFERENCE_ID) === reference);
    const ratios = mine.map((s) => s.rps / s.referenceRps);
    summary[pairKey(variant, reference, REFERENCE_ID)] = {
      variant,
      ratio: spread(ratios),
      ratioInterval: medianInterval(ratios),
      addedCpuUs: spread(mine.map((s) => s.cpuUsPerReq - s.referenceCpuUsPerReq)),
      errors: mine.reduce((a, s) => a + s.errors, 0),
      ...(reference === REFERENCE_ID ? {} : { reference }),
    };
  }
  return { rounds: plan.pairRounds, windowMs: plan.pairWindowMs, samples, summary };
}

function context(profile: keyof TargetPorts, ports: TargetPorts, proxies: Map<string, Proxy | string>, connections: number): VariantContext {
  const proxyOrigin = (name: 'haproxy' | 'nginx') => {
    const p = proxies.get(name);
    if (p === undefined) return { unavailable: 'not selected' };
    return typeof p === 'string' ? { unavailable: p } : p.origins[profile]!;
  };
  return {
    origins: origins(ports[profile]),
    path: '/',
    connections,
    proxies: { haproxy: proxyOrigin('haproxy'), nginx: proxyOrigin('nginx') },
  };
}

async function latency(
  ports: TargetPorts,
  proxies: Map<string, Proxy | string>,
  variants: readonly Variant[],
  infos: Map<string, VariantInfo>,
  plan: Plan,
): Promise<LatencyScenario> {
  const rate = 1000;
  const ctx = context('small', ports, proxies, 16);
  const { runners, unavailable } = await buildAll(variants, ctx, infos);
  const ids = [...runners.keys()];
  const ref = runners.get(REFERENCE_ID);
  // Each variant shares its windows with raw undici.request, request by request (A B A B at `rate` in all),
  // so each stall of the machine lands on both alike and the pair's difference is the variant's own. A variant
  // whose instrumentation is process-wide (activate) would see raw's requests too: it runs alone, right after
  // a window of raw alone.
  const others = ids.filter((id) => id !== REFERENCE_ID);
  const alone = new Set(others.filter((id) => runners.get(id)!.activate));
  // The variant the latency targets judge gets more rounds, after everyone's: see Plan.latencySubjectRounds.
  const subject = latencySubject(others);
  const subjectRounds = subject === undefined ? plan.latencyRounds : Math.max(plan.latencyRounds, plan.latencySubjectRounds);
  log(
    `latency at ${rate} req/s: ${others.length} variants each paired with raw, ${plan.latencyRounds} rounds x ${plan.latencyWindowMs} ms per pair` +
      (subjectRounds > plan.latencyRounds ? `, then ${subject} alone to ${subjectRounds} rounds` : ''),
  );
  for (const id of ids) await openLoop(runners.get(id)!, rate, Math.min(1000, plan.warmupMs));
  /** Per variant: its own samples, and raw's from the same windows. */
  const mine = new Map<string, Float64Array[]>(ids.map((id) => [id, []]));
  const raws = new Map<string, Float64Array[]>(others.map((id) => [id, []]));
  const counts = new Map<string, { errors: number; late: number }>();
  const count = (id: string, r: OpenResult) => {
    const c = counts.get(id) ?? { errors: 0, late: 0 };
    counts.set(id, { errors: c.errors + r.errors, late: c.late + r.late });
  };
  for (let round = 0; round < subjectRounds; round++) {
    // No forced collection here (unlike the throughput windows): a full GC shrinks the young generation,
    // so the window would start with frequent scavenges whose pauses land in its tail. Measured with
    // latency-ab.ts: raw undici.request's own p99 was 2–4 ms with it and about 0.6 ms without.
    for (const id of round < plan.latencyRounds ? order(others, round) : [subject!]) {
      const runner = runners.get(id)!;
      let r: OpenResult;
      let raw: OpenResult | undefined;
      if (!ref) r = await openLoop(runner, rate, plan.latencyWindowMs);
      else if (alone.has(id)) {
        const half = Math.max(1, Math.round(plan.latencyWindowMs / 2));
        raw = await openLoop(ref, rate, half);
        r = await openLoop(runner, rate, half);
      } else {
        // Raw first in even rounds, the variant first in odd ones, so neither always leads.
        const pair = round % 2 === 0 ? [ref, runner] : [runner, ref];
        const results = await openLoopInterleaved(pair, rate, plan.latencyWindowMs);
        [raw, r] = round % 2 === 0 ? [results[0]!, results[1]!] : [results[1]!, results[0]!];
      }
      runner.endRound?.();
      mine.get(id)!.push(r.latenciesUs);
      count(id, r);
      if (raw) {
        raws.get(id)!.push(raw.latenciesUs);
        mine.get(REFERENCE_ID)!.push(raw.latenciesUs);
        count(REFERENCE_ID, raw);
      }
    }
    log(`  round ${round + 1}/${subjectRounds} done`);
  }
  await closeAll(runners);
  const percentiles = (a: Float64Array): [number, number, number] => {
    const sorted = a.slice().sort();
    return [percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99)];
  };
  const summary: Record<string, LatencySummary> = {};
  for (const [id, parts] of mine) {
    const sorted = concat(parts).sort();
    const refParts = raws.get(id)?.length ? raws.get(id) : undefined;
    const refSorted = refParts ? concat(refParts).sort() : undefined;
    const p = (q: number) => percentile(sorted, q);
    const r = (q: number) => (id === REFERENCE_ID ? p(q) : refSorted ? percentile(refSorted, q) : Number.NaN);
    const perRound = parts.map(percentiles);
    const refPerRound = id === REFERENCE_ID ? perRound : refParts?.map(percentiles);
    summary[id] = {
      samples: sorted.length,
      errors: counts.get(id)!.errors,
      late: counts.get(id)!.late,
      p50: p(50),
      p90: p(90),
      p99: p(99),
      max: sorted[sorted.length - 1] ?? Number.NaN,
      added: { p50: p(50) - r(50), p90: p(90) - r(90), p99: p(99) - r(99) },
      addedPaired: paired(perRound, refPerRound),
      addedPairedInterval: pairedInterval(perRound, refPerRound),
      p99Rounds: spread(perRound.map((x) => x[2])),
      ...(id === subject && subjectRounds > plan.latencyRounds ? { rounds: subjectRounds } : {}),
    };
  }
  return {
    rate,
    rounds: plan.latencyRounds,
    windowMs: plan.latencyWindowMs,
    ...(ref ? { pairedWithReference: true } : {}),
    endpoints: ENDPOINTS,
    unavailable,
    summary,
  };
}

/** The variant the latency targets judge, of those that run (the report's order of preference). */
function latencySubject(ids: readonly string[]): string | undefined {
  return JUDGED_VARIANTS.find((id) => ids.includes(id));
}

/** Per round, (variant's percentile − the reference's in the same round), for p50, p90 and p99. */
function roundDifferences(mine: [number, number, number][], ref: [number, number, number][] | undefined, k: 0 | 1 | 2): number[] {
  return ref ? mine.map((m, i) => m[k] - (ref[i]?.[k] ?? Number.NaN)).filter(Number.isFinite) : [];
}

/** Medians over rounds of the per-round differences, for p50, p90 and p99. */
function paired(mine: [number, number, number][], ref: [number, number, number][] | undefined): { p50: number; p90: number; p99: number } {
  const at = (k: 0 | 1 | 2) => median(roundDifferences(mine, ref, k));
  return { p50: at(0), p90: at(1), p99: at(2) };
}

/** 95% confidence intervals of those medians (sign-test order statistics). */
function pairedInterval(mine: [number, number, number][], ref: [number, number, number][] | undefined): NonNullable<LatencySummary['addedPairedInterval']> {
  const at = (k: 0 | 1 | 2) => medianInterval(roundDifferences(mine, ref, k));
  return { p50: at(0), p90: at(1), p99: at(2) };
}

function runChild(args: string[]): Promise<unknown> {
  return new Promise((resolveChild, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(HERE, 'memory-child.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: ROOT,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`memory child ${args[0]} exited with ${code} without a result`));
      else resolveChild(JSON.parse(last));
    });
  });
}

async function memory(plan: Plan): Promise<MemoryResult[]> {
  log(`memory at ${plan.memoryCounts.join(', ')} endpoints`);
  const out = (await runChild(['endpoints', plan.memoryCounts.join(',')])) as { results: MemoryResult[] };
  return out.results;
}

async function leak(ports: TargetPorts, plan: Plan): Promise<LeakResult> {
  log(`heap over ${plan.leakRequests} requests with 30% failures`);
  const args = ['leak', ports.flaky.join(','), String(plan.leakRequests), '32'];
  // The child inherits this process's affinity (CPU 0), like the client variants.
  const out = (await runChild(args)) as Omit<LeakResult, 'growthBytes' | 'bytesPerRequest'>;
  // Checkpoint 0 is before any request, 1 after the first tenth (warm: pools, JIT): measure from 1.
  const warm = out.samples.slice(1);
  const growthBytes = warm.length > 1 ? warm[warm.length - 1]!.heapBytes - warm[0]!.heapBytes : 0;
  const bytesPerRequest = slope(
    warm.map((s) => s.requests),
    warm.map((s) => s.heapBytes),
  );
  return { ...out, growthBytes, bytesPerRequest };
}

/**
 * The commit measured, `-dirty` when src/ or the bench had uncommitted changes (the figures are then of code no
 * commit holds); nothing outside a git checkout.
 */
function gitCommit(): { commit?: string } {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'test/bench', 'package.json', 'package-lock.json') !== '';
    return { commit: `${git('rev-parse', '--short', 'HEAD')}${dirty ? '-dirty' : ''}` };
  } catch {
    return {};
  }
}

function undiciVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules/undici/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs the suite and returns the results (also written to `out`, and to docs/ when asked). */
export async function runCompare(options: CompareOptions): Promise<CompareResults> {
  const started = Date.now();
  const plan = { ...PLANS[options.mode], ...(options.latencyRounds ? { latencyRounds: options.latencyRounds } : {}) };
  const pinned = options.pin && canPin();
  if (pinned) pin(process.pid, 0);
  const load = loadavg();
  log(`mode ${options.mode}; ${pinned ? 'client on CPU 0, target on CPU 1' : 'not pinned'}; load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
  const variants = VARIANTS.filter((v) => v.id === REFERENCE_ID || !options.variants || options.variants.includes(v.id));
  const infos = new Map<string, VariantInfo>(variants.map((v) => [v.id, { id: v.id, label: v.label, description: v.description }]));
  const { child: target, ports } = await startTarget(ENDPOINTS, pinned);
  const proxies = new Map<string, Proxy | string>();
  const upstreams = { small: ports.small, undici: ports.undici };
  const results: CompareResults = {
    meta: {
      date: new Date().toISOString(),
      mode: options.mode,
      node: process.version,
      undici: undiciVersion(),
      proxyless: PROXYLESS_SOURCE,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      pinned,
      loadAverageAtStart: load,
      proxies: {},
      command: commandLine(options),
      ...gitCommit(),
      durationS: 0,
      note: '',
    },
    variants: [],
    throughput: {},
  };
  try {
    const needProxies = options.scenarios.some((s) => s === 'saturation' || s === 'undici' || s === 'latency');
    for (const [name, start] of [
      ['haproxy', startHaproxy],
      ['nginx', startNginx],
    ] as const) {
      if (!needProxies || !variants.some((v) => v.id === name)) continue;
      const p = await start(upstreams, 16);
      proxies.set(name, p);
      results.meta.proxies[name] = typeof p === 'string' ? p : p.version;
      if (typeof p === 'string') log(`${name}: ${p}`);
    }
    if (options.scenarios.includes('saturation')) {
      results.throughput.saturation = await throughput(
        'Saturation, 1 KiB bodies',
        context('small', ports, proxies, 8),
        proxies,
        variants,
        infos,
        plan,
        { bodyBytes: 1024, serverDelayMs: 0, concurrency: 32, connectionsPerEndpoint: 8 },
        target.pid,
        pairings(variants.map((v) => v.id)),
      );
    }
    if (options.scenarios.includes('undici')) {
      results.throughput.undici = await throughput(
        "undici's method: 64 KiB, 1 ms server delay, 50 connections",
        context('undici', ports, proxies, Math.ceil(50 / ENDPOINTS)),
        proxies,
        variants,
        infos,
        plan,
        { bodyBytes: 64 * 1024, serverDelayMs: 1, concurrency: 100, connectionsPerEndpoint: Math.ceil(50 / ENDPOINTS) },
        target.pid,
      );
    }
    if (options.scenarios.includes('pipeline')) {
      const ctx: VariantContext = {
        ...context('small', ports, proxies, 8),
        origins: Array.from({ length: ENDPOINTS }, (_, i) => `http://127.0.0.1:${10_001 + i}`),
        transport: instantTransport(),
      };
      results.throughput.pipeline = await throughput(
        'In process, no sockets: the client-side code alone',
        ctx,
        proxies,
        variants,
        infos,
        plan,
        { bodyBytes: 1024, serverDelayMs: 0, concurrency: 32, connectionsPerEndpoint: 8 },
        undefined,
      );
    }
    if (options.scenarios.includes('latency')) results.latency = await latency(ports, proxies, variants, infos, plan);
    if (options.scenarios.includes('memory')) results.memory = await memory(plan);
    if (options.scenarios.includes('leak')) results.leak = await leak(ports, plan);
  } finally {
    for (const p of proxies.values()) if (typeof p === 'object') await p.stop();
    target.stdin?.end();
    target.kill('SIGTERM');
  }
  results.variants = [...infos.values()];
  results.meta.durationS = Math.round((Date.now() - started) / 1000);
  results.meta.note =
    options.mode === 'smoke'
      ? 'smoke run: windows of a few hundred ms, figures meaningless'
      : `load average at start ${load.map((l) => l.toFixed(2)).join(' ')}`;
  const out = options.out ?? join(ROOT, '.bench-out', `compare-${options.mode}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`results: ${out}`);
  if (options.docs) {
    writeFileSync(join(ROOT, 'docs/benchmarks-compare.json'), `${JSON.stringify(results, null, 2)}\n`);
    renderDocs(results, ROOT);
    log('docs: docs/benchmarks-compare.md, docs/benchmarks-throughput.png');
  }
  return results;
}

async function main(): Promise<void> {
  const parsed = parseArgs(process.argv.slice(2));
  if ('render' in parsed) {
    renderDocs(JSON.parse(readFileSync(parsed.render, 'utf8')) as CompareResults, ROOT);
    log('docs: docs/benchmarks-compare.md, docs/benchmarks-throughput.png');
    return;
  }
  const results = await runCompare(parsed);
  for (const line of summaryLines(results)) process.stdout.write(`${line}\n`);
}

/** A few lines for the console. */
export function summaryLines(results: CompareResults): string[] {
  const lines: string[] = [];
  const label = (id: string) => results.variants.find((v) => v.id === id)?.label ?? id;
  for (const [name, s] of Object.entries(results.throughput)) {
    lines.push(`${name}:`);
    for (const v of results.variants) {
      const row = s.summary[v.id];
      if (!row) lines.push(`  ${label(v.id).padEnd(40)} ${s.unavailable?.[v.id] ?? v.unavailable ?? 'not run'}`);
      else
        lines.push(
          `  ${label(v.id).padEnd(40)} ${row.ratio.median.toFixed(2)}x [${row.ratio.min.toFixed(2)}-${row.ratio.max.toFixed(2)}]  ${Math.round(row.rps.median)} req/s  ${row.cpuUsPerReq.median.toFixed(1)} us CPU/req${row.errors ? `  ${row.errors} errors (${row.firstError})` : ''}`,
        );
    }
  }
  if (results.latency) {
    lines.push(`latency at ${results.latency.rate} req/s (added vs raw, us):`);
    for (const [id, l] of Object.entries(results.latency.summary)) {
      lines.push(`  ${label(id).padEnd(40)} p50 ${l.p50.toFixed(0)} (+${l.added.p50.toFixed(0)})  p90 ${l.p90.toFixed(0)} (+${l.added.p90.toFixed(0)})  p99 ${l.p99.toFixed(0)} (+${l.added.p99.toFixed(0)})`);
    }
  }
  for (const m of results.memory ?? []) lines.push(`memory: ${m.endpoints} endpoints: ${m.heapBytes} B (${m.perEndpointBytes.toFixed(0)} B/endpoint)`);
  if (results.leak) lines.push(`leak: ${results.leak.requests} requests (${results.leak.variant}): growth ${results.leak.growthBytes} B, ${results.leak.bytesPerRequest.toFixed(3)} B/request`);
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
