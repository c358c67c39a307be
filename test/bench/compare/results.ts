/** The shape of the side-by-side results JSON (docs/benchmarks-compare.json). */
import type { Spread } from './stats.js';

export type Mode = 'smoke' | 'quick' | 'full';

export interface VariantInfo {
  id: string;
  label: string;
  description: string;
  /** Why the variant did not run (e.g. "n/a (not built yet: services.target.retry)"). */
  unavailable?: string;
}

/** One variant in one round of a closed-loop scenario. */
export interface ThroughputSample {
  round: number;
  variant: string;
  rps: number;
  requests: number;
  errors: number;
  serverErrors: number;
  cpuUsPerReq: number;
  targetCpuUsPerReq: number | null;
  proxyCpuUsPerReq: number | null;
  firstError?: string;
}

export interface ThroughputSummary {
  rps: Spread;
  /** Per-round throughput divided by the reference's in the same round. */
  ratio: Spread;
  cpuUsPerReq: Spread;
  /** Client CPU per request minus the reference's, per round. */
  addedCpuUs: Spread;
  targetCpuUsPerReq: Spread;
  proxyCpuUsPerReq: Spread | null;
  errors: number;
  firstError?: string;
}

export interface ThroughputScenario {
  title: string;
  bodyBytes: number;
  serverDelayMs: number;
  concurrency: number;
  connectionsPerEndpoint: number;
  endpoints: number;
  rounds: number;
  windowMs: number;
  /**
   * Unmeasured run of the same variant right before each window, with no forced GC between windows; absent in
   * results from before, whose windows each started with a full GC instead.
   */
  prerollMs?: number;
  /** Variants that could not be built for this scenario, with the reason. */
  unavailable?: Record<string, string>;
  samples: ThroughputSample[];
  summary: Record<string, ThroughputSummary>;
  /**
   * The variants whose ratio a target judges, measured again in adjacent pairs of windows with the reference
   * after the interleaved rounds; absent in results from before it was measured, and in scenarios no target
   * judges.
   */
  pairs?: PairedThroughput;
}

/** One pair of adjacent windows: a judged variant's and the reference's, back to back. */
export interface PairSample {
  round: number;
  variant: string;
  rps: number;
  referenceRps: number;
  cpuUsPerReq: number;
  referenceCpuUsPerReq: number;
  /** Requests that failed, in either window. */
  errors: number;
  /** True when the reference's window came first (even rounds). */
  referenceFirst: boolean;
  /** The variant the pair measured against, when not raw undici.request. */
  reference?: string;
}

/**
 * The throughput ratios the targets judge, from pairs of adjacent windows. In the interleaved rounds a
 * variant's window can be a minute away from the reference's, and on a shared VM the machine's speed changes
 * in between (client CPU per request of one variant varied 2× from round to round in run AA); a pair's two
 * windows are seconds apart, so both mostly see the same machine, and the many pairs give the median ratio a
 * confidence interval.
 */
export interface PairedThroughput {
  rounds: number;
  /** Length of each of a pair's two windows. */
  windowMs: number;
  samples: PairSample[];
  /** By variant id for pairs with raw undici.request; by `pairKey` for pairs with another reference. */
  summary: Record<string, PairedSummary>;
}

/** The key of a pairing in `PairedThroughput.summary`: the variant's id, with ` vs <reference>` unless against raw. */
export function pairKey(variant: string, reference: string | undefined, raw: string): string {
  return reference === undefined || reference === raw ? variant : `${variant} vs ${reference}`;
}

export interface PairedSummary {
  /** The variant measured; absent in results from before (there the summary's key is the variant). */
  variant?: string;
  /** Per pair, the variant's throughput over the reference's. */
  ratio: Spread;
  /** 95% confidence interval of the median ratio (sign-test order statistics, `medianInterval`). */
  ratioInterval: Interval;
  /** Per pair, the variant's client CPU per request minus the reference's, microseconds. */
  addedCpuUs: Spread;
  errors: number;
  /** The variant the pairs measured against, when not raw undici.request. */
  reference?: string;
}

/** A confidence interval, microseconds. */
export interface Interval {
  low: number;
  high: number;
}

export interface LatencySummary {
  samples: number;
  errors: number;
  late: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Percentile minus the reference's percentile (pooled samples), microseconds. */
  added: { p50: number; p90: number; p99: number };
  /**
   * Median over rounds of (this variant's percentile − the reference's in the
   * same round), microseconds: robust to one window hit by a stall of the
   * machine, which can move a pooled p99 by a millisecond. Absent in results
   * from before it was measured.
   */
  addedPaired?: { p50: number; p90: number; p99: number };
  /**
   * 95% confidence interval of each `addedPaired` median (sign-test order
   * statistics over the rounds, `medianInterval`). Absent in results from
   * before it was measured.
   */
  addedPairedInterval?: { p50: Interval; p90: Interval; p99: Interval };
  /** Per-round p99, for the spread. */
  p99Rounds: Spread;
  /** Rounds this variant ran when more than the scenario's `rounds` (the variant the targets judge). */
  rounds?: number;
}

export interface LatencyScenario {
  rate: number;
  rounds: number;
  /** Length of each window (a variant's, or the pair's when `pairedWithReference`). */
  windowMs: number;
  /**
   * True when each variant shared its windows with the reference, request by request (A B A B at `rate` in
   * all), and its added figures are against the reference's samples from those windows; a variant with
   * process-wide instrumentation ran alone, right after a window of the reference alone (half a window each).
   * Absent in results from before, where each variant had its own window.
   */
  pairedWithReference?: boolean;
  endpoints: number;
  /** Variants that could not be built for this scenario, with the reason. */
  unavailable?: Record<string, string>;
  summary: Record<string, LatencySummary>;
  /** Where this section was measured, when it differs from the rest of the page (a `--scenarios latency` run). */
  note?: string;
}

export interface MemoryResult {
  endpoints: number;
  heapBytes: number;
  perEndpointBytes: number;
}

export interface LeakResult {
  variant: string;
  requests: number;
  ok: number;
  serverErrors: number;
  errors: number;
  samples: { requests: number; heapBytes: number }[];
  /** Heap growth from the first checkpoint after warm-up to the last, bytes. */
  growthBytes: number;
  /** Least-squares slope over the checkpoints after warm-up, bytes per request. */
  bytesPerRequest: number;
}

export interface CompareResults {
  meta: {
    date: string;
    mode: Mode;
    node: string;
    undici: string;
    /** The build of proxyless measured: `dist` (tsc output, what users run) or `src` (through tsx); absent in runs before it was recorded (src). */
    proxyless?: 'dist' | 'src';
    cpuModel: string;
    cores: number;
    pinned: boolean;
    loadAverageAtStart: number[];
    proxies: Record<string, string>;
    command: string;
    /** The commit measured (`-dirty`: with uncommitted changes to the code or the bench); absent in runs before it was recorded. */
    commit?: string;
    durationS: number;
    note: string;
  };
  variants: VariantInfo[];
  throughput: Record<string, ThroughputScenario>;
  latency?: LatencyScenario;
  memory?: MemoryResult[];
  leak?: LeakResult;
}
