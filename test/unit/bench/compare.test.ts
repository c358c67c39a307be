import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { closedLoop, openLoop, openLoopInterleaved } from '../../bench/compare/drivers.js';
import { instantTransport } from '../../bench/compare/in-process.js';
import { distIsStale, selectedSource } from '../../bench/compare/proxyless.js';
import { barChart } from '../../bench/compare/png.js';
import { evaluateTargets, pairings, ratioJudged, renderMarkdown } from '../../bench/compare/report.js';
import type { CompareResults, LatencySummary, PairedThroughput, ThroughputSample, ThroughputSummary } from '../../bench/compare/results.js';
import { concat, median, medianInterval, percentile, slope, spread } from '../../bench/compare/stats.js';
import { seededRandom } from '../../helpers/random.js';
import { REFERENCE_ID, VARIANTS, type Runner, type VariantContext } from '../../bench/compare/variants.js';
import { startServer } from '../../helpers/servers.js';

const ctx: VariantContext = {
  origins: ['http://127.0.0.1:10001', 'http://127.0.0.1:10002'],
  path: '/',
  connections: 4,
  proxies: { haproxy: { unavailable: 'not here' }, nginx: { unavailable: 'not here' } },
  transport: instantTransport(),
};

/** The context over real sockets to these origins (no in-process transport). */
function overSockets(origins: string[]): VariantContext {
  const { transport: _inProcess, ...sockets } = ctx;
  return { ...sockets, origins };
}

async function build(id: string): Promise<Runner | { unavailable: string }> {
  return VARIANTS.find((v) => v.id === id)!.build(ctx);
}

describe('bench compare: statistics', () => {
  it('computes medians, nearest-rank percentiles, spreads and slopes', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([50, 90, 99, 100]);
    expect(spread([3, Number.NaN, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(slope([0, 1, 2, 3], [10, 12, 14, 16])).toBeCloseTo(2, 10);
    expect([...concat([Float64Array.of(3, 1), new Float64Array(0), Float64Array.of(2)])]).toEqual([3, 1, 2]);
  });

  it('gives the sign-test confidence interval of a median: the textbook ranks, and the coverage it promises', () => {
    const ranks = (n: number) => {
      const { low, high } = medianInterval(Array.from({ length: n }, (_, i) => i + 1));
      return [low, high];
    };
    // 95%: n = 7 and fewer take the whole range; n = 15 the 4th and 12th values; n = 20 the 6th and 15th.
    expect([ranks(5), ranks(7), ranks(15), ranks(20)]).toEqual([[1, 5], [1, 7], [4, 12], [6, 15]]);
    expect(medianInterval([3, Number.NaN, 1, 2])).toEqual({ low: 1, high: 3 });
    // Coverage over 2,000 seeded samples of 15 draws from a skewed distribution (true median ln 2 for Exp(1)).
    const random = seededRandom(7);
    let covered = 0;
    for (let t = 0; t < 2_000; t++) {
      const xs = Array.from({ length: 15 }, () => -Math.log(1 - random()));
      const { low, high } = medianInterval(xs);
      if (low <= Math.LN2 && Math.LN2 <= high) covered++;
    }
    expect(covered / 2_000).toBeGreaterThanOrEqual(0.95);
    expect(covered / 2_000).toBeLessThan(0.99); // not the whole range: the interval is informative
  });
});

describe('bench compare: PNG chart', () => {
  it('writes a valid RGB PNG whose chunks carry correct CRCs and whose pixels are drawn', () => {
    const png = barChart('T', 'S', [{ label: 'a', value: 1, min: 0.9, max: 1.1 }, { label: 'b', note: 'N/A' }], [{ at: 1, label: '1.00' }]);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const types: string[] = [];
    let width = 0;
    let height = 0;
    const idat: Buffer[] = [];
    for (let at = 8; at < png.length; ) {
      const length = png.readUInt32BE(at);
      const type = png.toString('ascii', at + 4, at + 8);
      const data = png.subarray(at + 8, at + 8 + length);
      expect(png.readUInt32BE(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)) >>> 0);
      types.push(type);
      if (type === 'IHDR') {
        width = data.readUInt32BE(0);
        height = data.readUInt32BE(4);
        expect([data[8], data[9]]).toEqual([8, 2]);
      }
      if (type === 'IDAT') idat.push(data);
      at += 12 + length;
    }
    expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
    const raw = inflateSync(Buffer.concat(idat));
    expect(raw.length).toBe(height * (width * 3 + 1));
    const inked = raw.filter((b, i) => i % (width * 3 + 1) !== 0 && b !== 255).length;
    expect(inked).toBeGreaterThan(100);
  });
});

describe('bench compare: variants', () => {
  it('the reference and MeshClient.request (balancing only) answer over the same endpoints', async () => {
    for (const id of [REFERENCE_ID, 'mesh-request-balancing', 'mesh-fetch', 'undici-fetch', 'cockatiel-fetch']) {
      const runner = await build(id);
      if ('unavailable' in runner) throw new Error(`${id}: ${runner.unavailable}`);
      expect([await runner.send(), await runner.send()]).toEqual([200, 200]);
      await runner.close();
    }
  });

  it('a variant needing options this build lacks is n/a with the offending paths, never a failure', async () => {
    for (const id of ['mesh-request-full']) {
      const built = await build(id);
      if ('unavailable' in built) expect(built.unavailable).toMatch(/^n\/a \(not built yet: services\.target\./);
      else {
        expect(await built.send()).toBe(200);
        await built.close();
      }
    }
  });

  it('proxy variants and the instrumentation-undici reference say why they cannot run without sockets', async () => {
    expect(await build('haproxy')).toEqual({ unavailable: 'no sockets in this scenario' });
    expect(await build('undici-request-otel')).toEqual({ unavailable: expect.stringMatching(/^no sockets in this scenario \(instrumentation-undici/) });
  });
});

describe('bench compare: telemetry variants', () => {
  it('raw undici.request + instrumentation-undici records a span per request, only while its window is active', async () => {
    const server = await startServer('otel-target');
    const socketCtx = overSockets([server.url]);
    const runner = (await VARIANTS.find((v) => v.id === 'undici-request-otel')!.build(socketCtx)) as Runner;
    expect('unavailable' in runner).toBe(false);
    // Outside its window: the instrumentation is off, nothing is traced.
    expect(await runner.send()).toBe(200);
    expect(await runner.recordedSpans!()).toBe(0);
    const window = await closedLoop(runner, 2, 50);
    expect(window.requests).toBeGreaterThan(0);
    expect(await runner.recordedSpans!()).toBe(window.requests);
    // Off again after the window.
    expect(await runner.send()).toBe(200);
    expect(await runner.recordedSpans!()).toBe(window.requests);
    await runner.close();
    await server.close();
  });

  it('the mesh with an SDK records its INTERNAL and CLIENT spans', async () => {
    const server = await startServer('otel-mesh-target');
    const socketCtx = overSockets([server.url]);
    const runner = (await VARIANTS.find((v) => v.id === 'mesh-request-full-otel')!.build(socketCtx)) as Runner;
    for (let i = 0; i < 3; i++) expect(await runner.send()).toBe(200);
    expect(await runner.recordedSpans!()).toBe(6);
    await runner.close();
    await server.close();
  });
});

describe('bench compare: drivers', () => {
  it('the closed loop counts requests and the open loop sends on schedule', async () => {
    const runner = (await build(REFERENCE_ID)) as Runner;
    const closed = await closedLoop(runner, 4, 100);
    expect(closed.requests).toBeGreaterThan(0);
    expect(closed.errors).toBe(0);
    const open = await openLoop(runner, 200, 200);
    expect(open.completed).toBe(40);
    expect(open.errors).toBe(0);
    expect(Math.min(...open.latenciesUs)).toBeGreaterThanOrEqual(0);
    await runner.close();
  });

  it('the interleaved open loop takes the runners in turn, request by request, and keeps their results apart', async () => {
    const sends: string[] = [];
    const runner = (name: string, fail: boolean): Runner => ({
      send: async () => {
        sends.push(name);
        if (fail) throw Object.assign(new Error('refused'), { code: 'E_TEST' });
        return 200;
      },
      close: async () => {},
    });
    const [a, b, c] = await openLoopInterleaved([runner('a', false), runner('b', true), runner('c', false)], 300, 200);
    expect(sends).toHaveLength(60);
    expect(sends.slice(0, 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    expect([a!.completed, a!.errors, b!.completed, b!.errors, c!.completed, c!.errors]).toEqual([20, 0, 0, 20, 20, 0]);
    expect(b!.firstError).toBe('E_TEST: refused');
    expect(a!.latenciesUs).toHaveLength(20);
  });
});

describe('bench compare: report', () => {
  const summary = (ratio: number, cpu: number, added: number): ThroughputSummary => ({
    rps: spread([1000 * ratio]),
    ratio: spread([ratio]),
    cpuUsPerReq: spread([cpu]),
    addedCpuUs: spread([added]),
    targetCpuUsPerReq: spread([10]),
    proxyCpuUsPerReq: null,
    errors: 0,
  });
  const sample = (variant: string, rps: number): ThroughputSample => ({
    round: 0,
    variant,
    rps,
    requests: rps,
    errors: 0,
    serverErrors: 0,
    cpuUsPerReq: 1,
    targetCpuUsPerReq: null,
    proxyCpuUsPerReq: null,
  });
  const results: CompareResults = {
    meta: {
      date: '2026-01-01T00:00:00.000Z',
      mode: 'quick',
      node: 'v20',
      undici: '7',
      cpuModel: 'cpu',
      cores: 2,
      pinned: true,
      loadAverageAtStart: [0.1, 0.1, 0.1],
      proxies: {},
      command: '',
      durationS: 1,
      note: 'quiet',
    },
    variants: [
      { id: REFERENCE_ID, label: 'raw', description: 'raw' },
      { id: 'mesh-request-balancing', label: 'mesh', description: 'mesh' },
      { id: 'mesh-request-full', label: 'full', description: 'full', unavailable: 'n/a (not built yet: services.target.retry)' },
      { id: 'haproxy', label: 'hap', description: 'hap' },
    ],
    throughput: {
      saturation: {
        title: 'Saturation',
        bodyBytes: 1024,
        serverDelayMs: 0,
        concurrency: 1,
        connectionsPerEndpoint: 1,
        endpoints: 1,
        rounds: 1,
        windowMs: 1,
        samples: [sample(REFERENCE_ID, 1000), sample('mesh-request-balancing', 900), sample('haproxy', 500)],
        summary: { [REFERENCE_ID]: summary(1, 20, 0), 'mesh-request-balancing': summary(0.9, 32, 12), haproxy: summary(0.5, 15, -5) },
      },
    },
    memory: [{ endpoints: 10_000, heapBytes: 5_000_000, perEndpointBytes: 500 }],
  };

  it('judges the targets on balancing only while the full stack is not built, and says so', () => {
    const verdicts = evaluateTargets(results).map((t) => [t.target.split(' (')[0], t.pass]);
    expect(verdicts).toEqual([
      ['full default stack ≥ 0.85× raw undici.request', true],
      ['stretch: ≥ 0.95× raw with telemetry off', false],
      ['≥ 1.6× the HAProxy hop', true],
      ['p99 lower than the HAProxy hop', null],
      ['added latency ≤ 25 µs p50 at 1,000 req/s', null],
      ['added latency ≤ 100 µs p99 at 1,000 req/s', null],
      ['added client CPU ≤ 10 µs per request', false],
      ['≤ 1 KB heap per endpoint at 10,000 endpoints', true],
      ['heap flat over a long run with 30% failures', null],
    ]);
    expect(evaluateTargets(results)[0]!.note).toMatch(/balancing only/);
  });

  it('judges a recording OpenTelemetry SDK on its own row, and puts the HAProxy ratio against its ceiling', () => {
    const sat = results.throughput.saturation!;
    const withOtel = {
      ...results,
      throughput: {
        ...results.throughput,
        saturation: {
          ...sat,
          samples: [...sat.samples, sample('mesh-request-full-otel', 600), sample('undici-request-otel', 750)],
          summary: { ...sat.summary, 'mesh-request-full-otel': summary(0.6, 40, 20), 'undici-request-otel': summary(0.75, 30, 10) },
        },
      },
    };
    const verdicts = evaluateTargets(withOtel);
    const otel = verdicts.find((t) => t.target.startsWith('the same with an OpenTelemetry SDK'));
    expect([otel?.measured, otel?.pass]).toEqual(['0.60× (0.60–0.60)', false]);
    // Read against raw undici.request with the same SDK through instrumentation-undici: 600 / 750 in the same round.
    expect(otel?.note).toMatch(/instrumentation-undici into the same SDK \(1 span, 1 measurement\): 0\.80×$/);
    // balancing 900 req/s against the hop's 500: 1.8×, and raw is 2× the hop: 90% of the ceiling.
    expect(verdicts.find((t) => t.target.startsWith('≥ 1.6×'))!.note).toMatch(/90% of the ceiling/);
  });

  it('judges the 0.85× target with telemetry on as production runs it when measured, and says telemetry was off when not', () => {
    const sat = results.throughput.saturation!;
    const withSampled: CompareResults = {
      ...results,
      throughput: {
        ...results.throughput,
        saturation: {
          ...sat,
          samples: [
            ...sat.samples,
            sample('mesh-request-full-otel-sampled', 800),
            sample('undici-dispatcher-request', 1000),
            sample('undici-request-otel-sampled', 640),
          ],
          summary: {
            ...sat.summary,
            'mesh-request-full-otel-sampled': summary(0.8, 30, 10),
            'undici-dispatcher-request': summary(1, 20, 0),
            'undici-request-otel-sampled': summary(0.64, 35, 15),
          },
        },
      },
    };
    const first = evaluateTargets(withSampled)[0]!;
    expect(first.target).toMatch(/^full default stack, telemetry on \(an OTel SDK recording metrics, 1% of traces sampled\) ≥ 0\.85×/);
    expect([first.measured, first.pass]).toEqual(['0.80× (0.80–0.80)', false]);
    // 800 req/s against Pool.request's 1,000 in the same round.
    expect(first.note).toMatch(/against Pool\.request \(raw, no URL wrapper\): 0\.80×/);
    // And against raw undici.request with the same telemetry (instrumentation-undici, same SDK and sampler): 800 / 640.
    expect(first.note).toMatch(/same SDK and sampler \(1% of traces\): 1\.25×$/);
    // The CPU verdict, judged on the stack as measured, shows the telemetry-on figure beside it.
    expect(evaluateTargets(withSampled).find((t) => t.target.startsWith('added client CPU'))!.note).toMatch(/with telemetry on \(1% of traces\): \+10\.0 µs/);
    // Without that variant, the row is the stack as measured, and says it ran with telemetry off.
    expect(evaluateTargets(results)[0]!.note).toMatch(/telemetry off \(no telemetry-on variant in this run\)/);
  });

  it('judges added latency on the paired per-round difference when measured, showing the pooled one beside it', () => {
    const row = (p99: number, added: number, paired?: number): LatencySummary => ({
      samples: 100,
      errors: 0,
      late: 0,
      p50: 100,
      p90: 200,
      p99,
      max: p99,
      added: { p50: 5, p90: 10, p99: added },
      ...(paired === undefined
        ? {}
        : {
            addedPaired: { p50: 4, p90: 8, p99: paired },
            addedPairedInterval: { p50: { low: 1, high: 9 }, p90: { low: 2, high: 20 }, p99: { low: paired - 30, high: paired + 50 } },
          }),
      p99Rounds: spread([p99]),
    });
    const lat = (paired: boolean): CompareResults => ({
      ...results,
      latency: {
        rate: 1000,
        rounds: 7,
        windowMs: 10_000,
        endpoints: 4,
        summary: { [REFERENCE_ID]: row(600, 0, paired ? 0 : undefined), 'mesh-request-balancing': row(1300, 700, paired ? 60 : undefined) },
      },
    });
    const p99 = (r: CompareResults) => evaluateTargets(r).find((t) => t.target.startsWith('added latency ≤ 100 µs p99'))!;
    // One stalled window moved the pooled p99 by 700 µs; the per-round differences say 60 µs.
    expect([p99(lat(true)).measured, p99(lat(true)).pass]).toEqual([
      '+60 µs (median of per-round differences, 95% CI +30 µs to +110 µs; pooled +700 µs)',
      true,
    ]);
    // Its interval (+30 to +110 µs) straddles the limit: the verdict says one run does not settle it.
    expect(p99(lat(true)).note).toMatch(/the interval straddles 100 µs, so this run alone does not settle it$/);
    expect(p99(lat(true)).unsettled).toBe(true);
    expect(renderMarkdown(lat(true))).toMatch(/\| \*\*not settled\*\* \(median within the limit\) \| [^|]*judged on the paired/);
    const p50 = evaluateTargets(lat(true)).find((t) => t.target.startsWith('added latency ≤ 25 µs p50'))!;
    expect(p50.note).not.toMatch(/straddles/);
    expect(p50.unsettled).toBeUndefined();
    // Results from before the paired figure existed are judged on the pooled one, as they were.
    expect([p99(lat(false)).measured, p99(lat(false)).pass]).toEqual(['+700 µs', false]);
    expect(renderMarkdown(lat(true))).toContain('| +4 µs / +8 µs / +60 µs |');
    // The method text says how the pairs were made: per variant window before, request by request now.
    expect(renderMarkdown(lat(true))).toContain('7 rounds × 10 s per variant, interleaved');
    const requestByRequest = { ...lat(true), latency: { ...lat(true).latency!, pairedWithReference: true } };
    expect(renderMarkdown(requestByRequest)).toContain('shares its windows with raw undici.request, request by request');
  });

  it('judges the ratio targets on adjacent pairs of windows when measured, with their interval, and says when it straddles', () => {
    const sat = results.throughput.saturation!;
    // Pairs of the telemetry-on row at 0.80–0.90× and of the stack at 1.10–1.20× (the stack is balancing only here).
    const pairsOf = (id: string, ratios: number[]): PairedThroughput['samples'] =>
      ratios.map((r, round) => ({
        round,
        variant: id,
        rps: 1000 * r,
        referenceRps: 1000,
        cpuUsPerReq: 30,
        referenceCpuUsPerReq: 25,
        errors: 0,
        referenceFirst: round % 2 === 0,
      }));
    const withPairs = (telemetryOn: number[], stack: number[]): CompareResults => {
      const samples = [...pairsOf('mesh-request-full-otel-sampled', telemetryOn), ...pairsOf('mesh-request-balancing', stack)];
      const summarize = (id: string) => {
        const ratios = samples.filter((x) => x.variant === id).map((x) => x.rps / x.referenceRps);
        return { variant: id, ratio: spread(ratios), ratioInterval: medianInterval(ratios), addedCpuUs: spread(ratios.map(() => 5)), errors: 0 };
      };
      return {
        ...results,
        throughput: {
          saturation: {
            ...sat,
            prerollMs: 1000,
            samples: [...sat.samples, sample('mesh-request-full-otel-sampled', 600)],
            summary: { ...sat.summary, 'mesh-request-full-otel-sampled': summary(0.6, 40, 20) },
            pairs: {
              rounds: telemetryOn.length,
              windowMs: 2000,
              samples,
              summary: { 'mesh-request-full-otel-sampled': summarize('mesh-request-full-otel-sampled'), 'mesh-request-balancing': summarize('mesh-request-balancing') },
            },
          },
        },
      };
    };
    const ramp = (from: number, to: number) => Array.from({ length: 20 }, (_, i) => from + ((to - from) * i) / 19);
    // Settled: every pair at or above 0.86×, so the interval is too; the interleaved rounds' 0.60× stays beside it.
    const settled = evaluateTargets(withPairs(ramp(0.86, 0.96), ramp(1.1, 1.2)));
    const first = settled[0]!;
    expect([first.pass, first.unsettled]).toEqual([true, undefined]);
    expect(first.measured).toMatch(/^0\.91× \(median of 20 adjacent pairs, 95% CI 0\.8\d–0\.9\d; interleaved rounds: 0\.60× \(0\.60–0\.60\)\)$/);
    expect(first.note).toMatch(/judged on pairs of adjacent windows with raw/);
    expect(settled.find((t) => t.target.startsWith('stretch'))!.pass).toBe(true);
    // Straddling 0.85×: the median's side and "not settled", worded for a floor.
    const straddling = withPairs(ramp(0.79, 0.89), ramp(1.1, 1.2));
    const open = evaluateTargets(straddling)[0]!;
    expect([open.pass, open.unsettled, open.floor]).toEqual([false, true, true]);
    expect(open.note).toMatch(/the interval straddles 0\.85×, so this run alone does not settle it/);
    const md = renderMarkdown(straddling);
    expect(md).toMatch(/\| \*\*not settled\*\* \(median below the limit\) \|/);
    // A clear miss stays a miss.
    expect(evaluateTargets(withPairs(ramp(0.6, 0.7), ramp(1.1, 1.2)))[0]).toMatchObject({ pass: false, floor: true });
    expect(evaluateTargets(withPairs(ramp(0.6, 0.7), ramp(1.1, 1.2)))[0]!.unsettled).toBeUndefined();
    // The page shows the pairs and says how the windows were run.
    expect(md).toContain('#### The judged ratios, in adjacent pairs');
    expect(md).toMatch(/\| mesh \| raw \| \*\*1\.15×\*\* \| 1\.1\d–1\.1\d \| 1\.10–1\.20 \| \+5\.0 µs \| 0 \|/);
    // The telemetry-on row paired with raw carrying the same telemetry: the note reads it from the pairs.
    const sameTelemetry = withPairs(ramp(0.79, 0.89), ramp(1.1, 1.2));
    const pairsSoFar = sameTelemetry.throughput.saturation!.pairs!;
    const vsRef = ramp(1.0, 1.2);
    pairsSoFar.samples.push(
      ...pairsOf('mesh-request-full-otel-sampled', vsRef).map((x) => ({ ...x, reference: 'undici-request-otel-sampled' })),
    );
    pairsSoFar.summary['mesh-request-full-otel-sampled vs undici-request-otel-sampled'] = {
      variant: 'mesh-request-full-otel-sampled',
      ratio: spread(vsRef),
      ratioInterval: medianInterval(vsRef),
      addedCpuUs: spread(vsRef.map(() => -2)),
      errors: 0,
      reference: 'undici-request-otel-sampled',
    };
    sameTelemetry.variants = [...sameTelemetry.variants, { id: 'undici-request-otel-sampled', label: 'raw+otel', description: 'raw+otel' }];
    expect(evaluateTargets(sameTelemetry)[0]!.note).toMatch(
      /same SDK and sampler \(1% of traces\): 1\.10× \(median of 20 adjacent pairs, 95% CI 1\.0\d–1\.1\d; interleaved rounds: n\/a\)/,
    );
    const mdSame = renderMarkdown(sameTelemetry);
    expect(mdSame).toContain('| mesh-request-full-otel-sampled | raw+otel | **1.10×** |');
    expect(mdSame).toContain('and the telemetry-on row as many times with raw undici.request carrying the same telemetry');
    expect(mdSame).not.toContain('what the telemetry costs with no mesh');
    // And that reference against raw: the note gives what the telemetry alone costs a client with no mesh.
    const floor = ramp(0.66, 0.72);
    pairsSoFar.samples.push(...pairsOf('undici-request-otel-sampled', floor));
    pairsSoFar.summary['undici-request-otel-sampled'] = {
      variant: 'undici-request-otel-sampled',
      ratio: spread(floor),
      ratioInterval: medianInterval(floor),
      addedCpuUs: spread(floor.map(() => 12)),
      errors: 0,
    };
    expect(evaluateTargets(sameTelemetry)[0]!.note).toMatch(
      /raw undici\.request with that telemetry, against raw undici\.request without it: 0\.69× \(median of 20 adjacent pairs, 95% CI 0\.6\d–0\.7\d\), what the telemetry alone costs a client with no mesh/,
    );
    const mdFloor = renderMarkdown(sameTelemetry);
    expect(mdFloor).toContain('| raw+otel | raw | **0.69×** |');
    expect(mdFloor).toContain('(that reference also ran against raw undici.request: what the telemetry costs with no mesh)');
    expect(md).toContain('runs unmeasured for 1 s (a pre-roll');
    // Results from before: no pairs section, and the method says each window started with a full GC.
    expect(renderMarkdown(results)).not.toContain('adjacent pairs');
    expect(renderMarkdown(results)).toContain('and a full GC before each window');
  });

  it('pairs the telemetry-on row with raw carrying the same telemetry, and that reference with raw, when both run', () => {
    expect(pairings([REFERENCE_ID, 'mesh-request-full', 'mesh-request-full-otel-sampled', 'undici-request-otel-sampled'])).toEqual([
      { variant: 'mesh-request-full-otel-sampled', reference: REFERENCE_ID },
      { variant: 'mesh-request-full', reference: REFERENCE_ID },
      { variant: 'mesh-request-full-otel-sampled', reference: 'undici-request-otel-sampled' },
      { variant: 'undici-request-otel-sampled', reference: REFERENCE_ID },
    ]);
    expect(pairings([REFERENCE_ID, 'mesh-request-full'])).toEqual([{ variant: 'mesh-request-full', reference: REFERENCE_ID }]);
  });

  it('pairs the telemetry-on row and the judged stack, of those that run', () => {
    expect(ratioJudged([REFERENCE_ID, 'mesh-request-balancing', 'mesh-request-full', 'mesh-request-full-otel-sampled', 'haproxy'])).toEqual([
      'mesh-request-full-otel-sampled',
      'mesh-request-full',
    ]);
    expect(ratioJudged([REFERENCE_ID, 'mesh-request-balancing'])).toEqual(['mesh-request-balancing']);
    expect(ratioJudged([REFERENCE_ID, 'haproxy'])).toEqual([]);
  });

  it('renders the four sections docs/benchmarks.md takes from this suite', () => {
    const md = renderMarkdown(results);
    const headings = md.split('\n').filter((l) => l.startsWith('## '));
    expect(headings).toEqual([
      '## Targets',
      '## Side by side',
      '## Latency at 1,000 requests/s',
      '## CPU per request',
      '## Memory',
      '## Method',
      '## Machine',
      '## How to reproduce',
    ]);
    expect(md).toContain('| full | n/a (not built yet: services.target.retry) |');
    // The page names the commit it measured and the command that reproduces it.
    const committed = renderMarkdown({ ...results, meta: { ...results.meta, commit: 'abc1234', command: 'npx tsx test/bench/compare/main.ts --quick' } });
    expect(committed).toContain("This page's run: `npx tsx test/bench/compare/main.ts --quick` at commit `abc1234`.");
    expect(committed).toMatch(/^Measured .* at commit `abc1234`, on 2 × cpu/m);
    expect(md).not.toContain('at commit');
  });
});

describe('bench compare: command line', () => {
  it('takes the latency scenario alone with more rounds, and refuses a bad round count by name', async () => {
    const { parseArgs } = await import('../../bench/compare/main.js');
    expect(parseArgs(['--full', '--scenarios', 'latency', '--latency-rounds', '120', '--no-docs'])).toEqual({
      mode: 'full',
      scenarios: ['latency'],
      latencyRounds: 120,
      docs: false,
      pin: true,
    });
    expect(parseArgs(['--quick'])).not.toHaveProperty('latencyRounds');
    for (const bad of ['0', '2.5', 'many']) {
      expect(() => parseArgs(['--latency-rounds', bad])).toThrow(/--latency-rounds must be a positive integer/);
    }
    expect(() => parseArgs(['--latency-rounds'])).toThrow('--latency-rounds needs a value');
    // A misspelt variant is refused by name, with the known ids, not silently left out of the run.
    expect(() => parseArgs(['--variants', 'mesh-request-full,mesh-requst-balancing'])).toThrow(
      /^unknown variant mesh-requst-balancing \(undici-request, .*mesh-request-balancing/,
    );
  });

  it('records a command line that reproduces the run: scenarios, variants, rounds and pinning, not only the mode', async () => {
    const { parseArgs, commandLine } = await import('../../bench/compare/main.js');
    const argv = ['--full', '--scenarios', 'latency', '--variants', 'mesh-request-full', '--latency-rounds', '120', '--no-pin', '--no-docs'];
    const options = parseArgs(argv);
    if ('render' in options) throw new Error('parsed as --render');
    const recorded = commandLine(options);
    expect(recorded).toBe('npx tsx test/bench/compare/main.ts --full --scenarios latency --variants mesh-request-full --latency-rounds 120 --no-pin');
    // Parsing the recorded line gives back the same run (where results go aside).
    const again = parseArgs(recorded.split(' ').slice(3));
    expect(again).toEqual({ ...options, docs: true });
    // The default run records only its mode.
    const plain = parseArgs(['--quick']);
    if ('render' in plain) throw new Error('parsed as --render');
    expect(commandLine(plain)).toBe('npx tsx test/bench/compare/main.ts --quick');
  });
});

describe('bench compare: the latency scenario', () => {
  it('gives the variant the targets judge more rounds than the others, paired with raw in each, and says so', async () => {
    const { runCompare } = await import('../../bench/compare/main.js');
    const dir = mkdtempSync(join(tmpdir(), 'proxyless-compare-'));
    try {
      // Smoke sizes (100 ms windows): one round for every variant, and the judged one (the full stack) goes on to
      // the smoke plan's three.
      const results = await runCompare({
        mode: 'smoke',
        scenarios: ['latency'],
        variants: ['mesh-request-balancing', 'mesh-request-full'],
        latencyRounds: 1,
        out: join(dir, 'out.json'),
        docs: false,
        pin: false,
      });
      const lat = results.latency!;
      expect(lat.rounds).toBe(1);
      const full = lat.summary['mesh-request-full']!;
      const balancing = lat.summary['mesh-request-balancing']!;
      expect([full.rounds, balancing.rounds]).toEqual([3, undefined]);
      // Each round is one 100 ms window at 500 req/s per side, so three rounds give about three times the samples.
      expect(full.samples).toBeGreaterThan(2 * balancing.samples);
      // Raw's row pools its half of every window: one per balancing round, three for the full stack.
      expect(lat.summary[REFERENCE_ID]!.samples).toBeGreaterThan(full.samples + balancing.samples - 20);
      expect(full.errors + balancing.errors).toBe(0);
      expect(renderMarkdown(results)).toContain(
        "(`mesh-request-full`, which the latency targets judge, ran 3 rounds: its 2 more came after the others' 1, to narrow its paired p99's interval)",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('bench compare: the saturation scenario', () => {
  it('runs the judged variants again in adjacent pairs with raw after the rounds, each window after a pre-roll', async () => {
    const { runCompare } = await import('../../bench/compare/main.js');
    const dir = mkdtempSync(join(tmpdir(), 'proxyless-compare-'));
    try {
      const results = await runCompare({
        mode: 'smoke',
        scenarios: ['saturation'],
        variants: ['mesh-request-balancing', 'mesh-request-full'],
        out: join(dir, 'out.json'),
        docs: false,
        pin: false,
      });
      const sat = results.throughput.saturation!;
      expect([sat.rounds, sat.prerollMs]).toEqual([2, 20]);
      const pairs = sat.pairs!;
      // Only the stack the targets judge (the full stack; no telemetry-on variant ran): the smoke plan's two pairs,
      // raw first, then second.
      expect(Object.keys(pairs.summary)).toEqual(['mesh-request-full']);
      expect(pairs.samples.map((p) => [p.round, p.variant, p.referenceFirst])).toEqual([
        [0, 'mesh-request-full', true],
        [1, 'mesh-request-full', false],
      ]);
      for (const p of pairs.samples) {
        expect(p.rps).toBeGreaterThan(0);
        expect(p.referenceRps).toBeGreaterThan(0);
        expect(p.errors).toBe(0);
      }
      const full = pairs.summary['mesh-request-full']!;
      expect(full.ratio.n).toBe(2);
      expect(full.ratio.median).toBeCloseTo(median(pairs.samples.map((p) => p.rps / p.referenceRps)), 10);
      expect(renderMarkdown(results)).toContain('ran 2 more times in a pair of adjacent 0.1 s windows with raw undici.request');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('bench compare: the build measured', () => {
  it('measures dist/ unless under vitest or told otherwise, and refuses an unknown choice by name', () => {
    expect(selectedSource({})).toBe('dist');
    expect(selectedSource({ VITEST: 'true' })).toBe('src');
    expect(selectedSource({ VITEST: 'true', PROXYLESS_BENCH_SOURCE: 'dist' })).toBe('dist');
    expect(selectedSource({ PROXYLESS_BENCH_SOURCE: 'src' })).toBe('src');
    expect(() => selectedSource({ PROXYLESS_BENCH_SOURCE: 'build' })).toThrow('PROXYLESS_BENCH_SOURCE must be "dist" or "src", got "build"');
  });

  it('calls dist/ stale when it is missing or older than any file under src/', () => {
    const root = mkdtempSync(join(tmpdir(), 'proxyless-bench-'));
    try {
      mkdirSync(join(root, 'src/client'), { recursive: true });
      writeFileSync(join(root, 'src/index.ts'), '');
      writeFileSync(join(root, 'src/client/deep.ts'), '');
      const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);
      at('src/index.ts', 1_000);
      at('src/client/deep.ts', 1_000);
      expect(distIsStale(root)).toBe(true);
      mkdirSync(join(root, 'dist'));
      writeFileSync(join(root, 'dist/index.js'), '');
      at('dist/index.js', 2_000);
      expect(distIsStale(root)).toBe(false);
      at('src/client/deep.ts', 3_000);
      expect(distIsStale(root)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
