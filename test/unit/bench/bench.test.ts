/**
 * The parts of the benchmark harness that would mislead a reader if wrong: the interval and the verdicts read
 * from it, the generated page, and `--baseline` (measured at smoke size).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { judge, renderMarkdown, renderSvg, splice, BEGIN, END, targets } from '../../bench/report.js';
import { parseArgs, runBench } from '../../bench/run.js';
import { estimate, percentile, slope } from '../../bench/stats.js';
import { PLANS, type PairResult, type Results } from '../../bench/suite.js';
import { buildEntry, REFERENCE } from '../../bench/variants.js';
import { seededRandom } from '../../helpers/random.js';

describe('bench: statistics', () => {
  it('gives the sign-test interval of a median: the textbook ranks, and the coverage it promises', () => {
    const ranks = (n: number) => {
      const e = estimate(Array.from({ length: n }, (_, i) => n - i));
      return [e.low, e.median, e.high];
    };
    // 95%: n ≤ 5 takes the whole range; n = 15 the 4th and 12th values; n = 20 the 6th and 15th.
    expect([ranks(5), ranks(15), ranks(20)]).toEqual([[1, 3, 5], [4, 8, 12], [6, 10.5, 15]]);
    expect(estimate([3, Number.NaN, 1, 2])).toEqual({ median: 2, low: 1, high: 3, min: 1, max: 3, n: 3 });
    // Coverage over 2,000 seeded samples of 15 draws from a skewed distribution (true median ln 2 for Exp(1)).
    const random = seededRandom(7);
    let covered = 0;
    for (let t = 0; t < 2_000; t++) {
      const e = estimate(Array.from({ length: 15 }, () => -Math.log(1 - random())));
      if (e.low <= Math.LN2 && Math.LN2 <= e.high) covered++;
    }
    expect(covered / 2_000).toBeGreaterThanOrEqual(0.95);
    expect(covered / 2_000).toBeLessThan(0.99); // not the whole range: the interval is informative
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([50, 99, 100]);
    expect(slope([0, 1, 2, 3], [10, 12, 14, 16])).toBeCloseTo(2, 10);
  });

  it('judges a floor or a ceiling on the whole interval, and calls a straddling one not settled', () => {
    const e = (low: number, median: number, high: number) => ({ low, median, high, min: low, max: high, n: 20 });
    expect(['floor', 'ceiling'].map((k) => judge(e(0.9, 1, 1.1), 0.85, k as 'floor'))).toEqual(['pass', 'miss']);
    expect(judge(e(0.8, 0.9, 1), 0.85, 'floor')).toBe('not settled');
    expect(judge(e(0.7, 0.8, 0.84), 0.85, 'floor')).toBe('miss');
    expect(judge(e(-20, 15, 99), 100, 'ceiling')).toBe('pass');
    expect(judge(e(50, 120, 300), 100, 'ceiling')).toBe('not settled');
    expect(judge(e(101, 120, 300), 100, 'ceiling')).toBe('miss');
    expect(judge(undefined, 1, 'floor')).toBe('n/a');
  });
});

const est = (median: number, low: number, high: number) => ({ median, low, high, min: low, max: high, n: 20 });
const pair = (variant: string, reference: string, ratio: [number, number, number], cpu = 0): PairResult => ({
  variant,
  reference,
  ratio: est(...ratio),
  addedCpuUs: est(cpu, cpu - 1, cpu + 1),
  rps: 20_000,
  cpuUsPerReq: 50,
  errors: 0,
});
const results: Results = {
  meta: { mode: 'full', node: 'v20.20.2', undici: '7.30.2', cpu: 'Test CPU', cores: 2, pinned: true, loadAverage: [0.1, 0.2, 0.3], durationS: 600, hops: {} },
  plan: PLANS.full,
  labels: { 'mesh-full': 'full stack', [REFERENCE]: 'raw', 'mesh-full-otel': 'full stack + OTel', haproxy: 'HAProxy hop', 'pool-rr': 'Pool.request' },
  unavailable: { nginx: 'nginx not installed' },
  pairs: [
    pair('mesh-full', 'pool-rr', [0.7, 0.66, 0.74]),
    pair('mesh-full', REFERENCE, [1.1, 1.05, 1.15], 4),
    pair('mesh-full-otel', REFERENCE, [0.8, 0.76, 0.84], 20),
    pair('mesh-full', 'haproxy', [1.5, 1.4, 1.7]),
  ],
  latency: {
    variants: [REFERENCE, 'mesh-full', 'haproxy'],
    rows: {
      [REFERENCE]: { p50: 200, p99: 1_500, addedP50: est(0, 0, 0), addedP99: est(0, 0, 0), samples: 30_000, errors: 0 },
      'mesh-full': { p50: 210, p99: 1_600, addedP50: est(10, 8, 12), addedP99: est(60, -40, 150), samples: 30_000, errors: 0 },
      haproxy: { p50: 300, p99: 4_000, addedP50: est(100, 90, 110), addedP99: est(2_000, 1_000, 3_000), samples: 30_000, errors: 0 },
    },
  },
  memory: [{ endpoints: 10_000, perEndpointBytes: 690 }],
  leak: { requests: 1_000_000, errors: 0, growthBytes: 70_000, bytesPerRequest: 0.3 },
  tables: [{ title: 'Load balancer pick cost', tables: [{ title: 'CPU ns per pick', header: ['policy', '10 endpoints'], rows: [['round-robin', '5']] }] }],
};

describe('bench: the generated page', () => {
  it('gives each target its measured figure and verdict, read from the right pairing', () => {
    expect(targets(results).map((t) => [t.target.split(' ').slice(0, 4).join(' '), t.verdict])).toEqual([
      ['full stack, telemetry on', 'miss'],
      ['stretch: full stack, telemetry', 'pass'],
      ['full stack ≥ 1.6×', 'not settled'],
      ['p99 lower than the', 'pass'],
      ['added p50 ≤ 25', 'pass'],
      ['added p99 ≤ 100', 'not settled'],
      ['added client CPU ≤', 'pass'],
      ['≤ 1 KB heap', 'pass'],
      ['heap flat under 30%', 'pass'],
    ]);
    expect(targets(results)[0]!.measured).toBe('0.80× (95% CI 0.76–0.84, 20 pairs)');
    expect(targets(results)[5]!.measured).toBe('+60 µs (95% CI −40 to +150)');
  });

  it('renders the run, the targets, every pairing, the latency, memory and balancer tables, and nothing dated', () => {
    const md = renderMarkdown(results, '../test/bench/results.svg');
    expect(md).toContain('`--full` run of 600 s (20 pairs of 1 s windows per pairing');
    expect(md).toContain('| full stack | Pool.request | **0.70×** | 0.66–0.74 | 20,000 | 50.0 µs | +0.0 µs | 0 |');
    expect(md).toContain('| full stack | 210 µs | 1,600 µs | +10 µs (95% CI +8 to +12) | +60 µs (95% CI −40 to +150) | 30,000 | 0 |');
    expect(md).toContain('![Throughput ratios with their 95% intervals](../test/bench/results.svg)');
    expect(md).toContain('Not run: nginx (nginx not installed).');
    expect(md).toContain('Heap per endpoint: 690 B at 10,000 endpoints.');
    expect(md).toContain('### Load balancer pick cost');
    expect(md).not.toMatch(/\b20\d\d-\d\d-\d\d|UTC|\bcommit\b/);
    const svg = renderSvg(results);
    expect(svg.match(/<rect x=/g)).toHaveLength(results.pairs.length);
    expect(svg).toContain('full stack / Pool.request</text>');
    const page = `# B\n\n${BEGIN}\nold\n${END}\n\nafter\n`;
    expect(splice(page, 'new')).toBe(`# B\n\n${BEGIN}\n\nnew\n\n${END}\n\nafter\n`);
    expect(() => splice('# no markers', 'new')).toThrow(/markers/);
  });
});

describe('bench: --baseline', () => {
  it('takes a build directory, and refuses one without a build by name', () => {
    expect(parseArgs(['--smoke', '--baseline', '../before'])).toMatchObject({ mode: 'smoke', baseline: '../before' });
    expect(() => parseArgs(['--baseline'])).toThrow(/--baseline needs a value/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument --fast/);
    const empty = mkdtempSync(join(tmpdir(), 'bench-baseline-'));
    expect(() => buildEntry(empty)).toThrow(`--baseline ${empty}: no dist/index.js, index.js or index.ts there`);
    expect(buildEntry('src')).toMatch(/src[/\\]index\.ts$/);
  });

  it('measures the baseline build paired with this one, at smoke size', async () => {
    const run = await runBench({ ...parseArgs(['--smoke', '--baseline', 'src', '--only', 'saturation']), pin: false });
    expect(run.meta.baseline).toBe('src');
    const byPairing = Object.fromEntries(run.pairs.map((p) => [`${p.variant} vs ${p.reference}`, p]));
    for (const key of ['baseline-full vs pool-rr', 'mesh-full vs baseline-full', 'mesh-full vs pool-rr']) {
      const p = byPairing[key]!;
      expect(p, key).toBeDefined();
      expect(p.errors).toBe(0);
      expect(p.ratio.n).toBe(PLANS.smoke.pairRounds);
      expect(p.ratio.median).toBeGreaterThan(0);
    }
    expect(renderMarkdown(run, 'results.svg')).toContain('| MeshClient.request (full stack) | baseline MeshClient.request (full stack) | **');
  }, 60_000);
});
