/**
 * The side-by-side scenarios: throughput in adjacent pairs of windows, added latency at a fixed rate, heap per
 * endpoint and heap under failures. This process runs the clients (pinned to CPU 0 where it can), the target runs
 * in a child (CPU 1), the hops are left to the scheduler.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { closedLoop, openLoop, type Runner } from './drivers.js';
import { estimate, percentile, slope, type Estimate } from './stats.js';
import type { TargetPorts } from './servers.js';
import type { BenchReport } from './report.js';
import { buildVariant, REFERENCE, ROOT, VARIANTS, type Context } from './variants.js';

export type Mode = 'smoke' | 'quick' | 'full';

/** The sizes of a run. */
export interface Plan {
  /** Pairs of adjacent windows per pairing. */
  pairRounds: number;
  windowMs: number;
  /**
   * An unmeasured run of the same variant right before each window: the variants share one process, and the first
   * moments after a switch run code (undici's, the SDK's) last run for another variant, which a service running one
   * client never pays.
   */
  prerollMs: number;
  latencyRounds: number;
  latencyWindowMs: number;
  memoryCounts: number[];
  leakRequests: number;
}

export const PLANS: Record<Mode, Plan> = {
  smoke: { pairRounds: 2, windowMs: 100, prerollMs: 20, latencyRounds: 2, latencyWindowMs: 200, memoryCounts: [1, 100], leakRequests: 2_000 },
  quick: { pairRounds: 8, windowMs: 1_000, prerollMs: 250, latencyRounds: 10, latencyWindowMs: 2_000, memoryCounts: [1, 100, 10_000], leakRequests: 100_000 },
  full: { pairRounds: 20, windowMs: 1_000, prerollMs: 250, latencyRounds: 30, latencyWindowMs: 3_000, memoryCounts: [1, 100, 10_000], leakRequests: 300_000 },
};

export const CONCURRENCY = 32;
export const LATENCY_RATE = 1_000;

/** Which variant is measured against which, in adjacent windows. The first is the headline. */
export function pairings(baseline: boolean): [string, string][] {
  return [
    ['mesh-full', 'pool-rr'],
    ['mesh-full', REFERENCE],
    ['pool-rr', REFERENCE],
    ['mesh-full-otel', REFERENCE],
    ['mesh-full-otel', 'undici-request-otel'],
    ['mesh-full', 'haproxy'],
    ['mesh-full', 'nginx'],
    ...(baseline ? ([['baseline-full', 'pool-rr'], ['mesh-full', 'baseline-full']] as [string, string][]) : []),
  ];
}

/** One pairing's result: per pair, the variant's throughput over the reference's, and its client CPU per request minus theirs. */
export interface PairResult {
  variant: string;
  reference: string;
  ratio: Estimate;
  addedCpuUs: Estimate;
  /** Medians over the pairs of each side's own figures. */
  rps: number;
  cpuUsPerReq: number;
  errors: number;
  firstError?: string;
}

/** One variant at the fixed rate: percentiles over all its samples, and per round its percentile minus raw's. */
export interface LatencyRow {
  p50: number;
  p99: number;
  addedP50: Estimate;
  addedP99: Estimate;
  samples: number;
  errors: number;
}

export interface Results {
  meta: {
    mode: Mode;
    node: string;
    undici: string;
    cpu: string;
    cores: number;
    pinned: boolean;
    loadAverage: number[];
    durationS: number;
    hops: Record<string, string>;
    baseline?: string;
  };
  plan: Plan;
  labels: Record<string, string>;
  unavailable: Record<string, string>;
  pairs: PairResult[];
  latency?: { variants: string[]; rows: Record<string, LatencyRow> };
  memory?: { endpoints: number; perEndpointBytes: number }[];
  leak?: { requests: number; errors: number; growthBytes: number; bytesPerRequest: number };
  /** The balancer benchmarks' tables. */
  tables: BenchReport[];
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function buildAll(ids: readonly string[], ctx: Context, unavailable: Record<string, string>): Promise<Map<string, Runner>> {
  const runners = new Map<string, Runner>();
  for (const id of ids) {
    const built = await buildVariant(id, ctx);
    if (typeof built === 'string') unavailable[id] = built;
    else runners.set(id, built);
  }
  return runners;
}

/** Throughput: for each pairing, `plan.pairRounds` pairs of adjacent windows, the reference first in even rounds. */
export async function saturation(ctx: Context, plan: Plan, unavailable: Record<string, string>): Promise<PairResult[]> {
  const todo = pairings(ctx.baseline !== undefined);
  const runners = await buildAll([...new Set(todo.flat())], ctx, unavailable);
  const runnable = todo.filter(([a, b]) => runners.has(a) && runners.has(b));
  log(`throughput: ${runnable.length} pairings x ${plan.pairRounds} pairs of ${plan.windowMs} ms windows`);
  for (const runner of runners.values()) await closedLoop(runner, CONCURRENCY, plan.prerollMs * 4);
  const window = async (runner: Runner) => {
    await closedLoop(runner, CONCURRENCY, plan.prerollMs);
    return closedLoop(runner, CONCURRENCY, plan.windowMs);
  };
  const samples = runnable.map(() => [] as { mine: Awaited<ReturnType<typeof window>>; theirs: Awaited<ReturnType<typeof window>> }[]);
  for (let round = 0; round < plan.pairRounds; round++) {
    for (const [k, [variant, reference]] of runnable.entries()) {
      const first = round % 2 === 0 ? reference : variant;
      const a = await window(runners.get(first)!);
      const b = await window(runners.get(first === reference ? variant : reference)!);
      samples[k]!.push(first === reference ? { mine: b, theirs: a } : { mine: a, theirs: b });
    }
    log(`  round ${round + 1}/${plan.pairRounds}`);
  }
  await Promise.all([...runners.values()].map((r) => r.close()));
  const rps = (w: { requests: number; elapsedMs: number }) => (w.requests / w.elapsedMs) * 1000;
  const cpu = (w: { cpuUs: number; requests: number }) => w.cpuUs / Math.max(1, w.requests);
  return runnable.map(([variant, reference], k) => {
    const s = samples[k]!;
    const firstError = s.find((x) => x.mine.firstError ?? x.theirs.firstError);
    return {
      variant,
      reference,
      ratio: estimate(s.map((x) => rps(x.mine) / rps(x.theirs))),
      addedCpuUs: estimate(s.map((x) => cpu(x.mine) - cpu(x.theirs))),
      rps: estimate(s.map((x) => rps(x.mine))).median,
      cpuUsPerReq: estimate(s.map((x) => cpu(x.mine))).median,
      errors: s.reduce((n, x) => n + x.mine.errors + x.theirs.errors, 0),
      ...(firstError ? { firstError: firstError.mine.firstError ?? firstError.theirs.firstError } : {}),
    };
  });
}

/** Latency at a fixed rate in all, dealt request by request to raw, the mesh (telemetry off and on) and the hops. */
export async function latency(ctx: Context, plan: Plan, unavailable: Record<string, string>): Promise<NonNullable<Results['latency']>> {
  const runners = await buildAll([REFERENCE, 'mesh-full', 'mesh-full-otel', 'haproxy', 'nginx'], ctx, unavailable);
  const ids = [...runners.keys()];
  log(`latency: ${ids.length} variants sharing ${LATENCY_RATE} req/s, ${plan.latencyRounds} rounds x ${plan.latencyWindowMs} ms`);
  await openLoop([...runners.values()], LATENCY_RATE, Math.min(1000, plan.latencyWindowMs));
  const rounds: Float64Array[][] = [];
  const errors = new Map<string, number>();
  for (let round = 0; round < plan.latencyRounds; round++) {
    // Rotated each round, so no variant always follows the same one in the schedule.
    const order = ids.map((_, i) => ids[(i + round) % ids.length]!);
    const results = await openLoop(order.map((id) => runners.get(id)!), LATENCY_RATE, plan.latencyWindowMs);
    rounds.push(ids.map((id) => results[order.indexOf(id)]!.latenciesUs));
    order.forEach((id, i) => errors.set(id, (errors.get(id) ?? 0) + results[i]!.errors));
  }
  await Promise.all([...runners.values()].map((r) => r.close()));
  const rows: Record<string, LatencyRow> = {};
  const ref = ids.indexOf(REFERENCE);
  ids.forEach((id, k) => {
    const all = Float64Array.from(rounds.flatMap((r) => [...r[k]!])).sort();
    const added = (q: number) => estimate(rounds.map((r) => percentile(r[k]!, q) - percentile(r[ref]!, q)));
    rows[id] = { p50: percentile(all, 50), p99: percentile(all, 99), addedP50: added(50), addedP99: added(99), samples: all.length, errors: errors.get(id)! };
  });
  return { variants: ids, rows };
}

function child(args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'memory.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: ROOT,
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`memory.ts ${args[0]} exited with ${code}`))));
  });
}

/** Heap per endpoint, and heap under 30% failures through the full stack: each in a child `node --expose-gc`. */
export async function memory(ports: TargetPorts, plan: Plan): Promise<Pick<Results, 'memory' | 'leak'>> {
  log(`memory: ${plan.memoryCounts.join(', ')} endpoints; ${plan.leakRequests} requests with 30% failures`);
  const mem = (await child(['endpoints', plan.memoryCounts.join(',')])) as Results['memory'];
  const leak = (await child(['leak', ports.flaky.join(','), String(plan.leakRequests)])) as { errors: number; samples: [number, number][] };
  // Checkpoint 0 is before any request, 1 after the first tenth (pools and JIT warm): measure from 1.
  const warm = leak.samples.slice(1);
  return {
    memory: mem,
    leak: {
      requests: plan.leakRequests,
      errors: leak.errors,
      growthBytes: warm[warm.length - 1]![1] - warm[0]![1],
      bytesPerRequest: slope(warm.map((s) => s[0]), warm.map((s) => s[1])),
    },
  };
}

export const LABELS = Object.fromEntries(VARIANTS.map((v) => [v.id, v.label]));
