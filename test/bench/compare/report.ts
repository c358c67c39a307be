/**
 * Renders the side-by-side results JSON into docs/benchmarks-compare.md
 * (the sections "Side by side", "Latency at 1,000 requests/s", "CPU per
 * request" and "Memory" of docs/benchmarks.md) and the chart
 * docs/benchmarks-throughput.png. Pure function of the JSON, so the docs
 * can be re-rendered without re-running: `main.ts --render`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart, type Bar, type Rgb } from './png.js';
import { pairKey, type CompareResults, type LatencySummary, type PairedSummary, type ThroughputScenario } from './results.js';
import type { Spread } from './stats.js';
import { REFERENCE_ID } from './variants.js';

const FULL = 'mesh-request-full';
const BALANCING = 'mesh-request-balancing';
const OTEL = 'mesh-request-full-otel';
const OTEL_SAMPLED = 'mesh-request-full-otel-sampled';
const RAW_OTEL = 'undici-request-otel';
const RAW_OTEL_SAMPLED = 'undici-request-otel-sampled';
const BARE = 'undici-dispatcher-request';

/** One target of issue 10 with its verdict. */
export interface TargetVerdict {
  target: string;
  measured: string;
  /** true: met; false: missed; null: could not be measured yet. */
  pass: boolean | null;
  note: string;
  /**
   * The measurement's 95% interval straddles the limit: `pass` is the
   * median's side of it, and one run does not settle the target.
   */
  unsettled?: true;
  /** The limit is a floor (a ratio that must reach it), not a ceiling: said in the "not settled" verdict. */
  floor?: true;
}

const ratio = (s: Spread | undefined) => (s && Number.isFinite(s.median) ? `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : 'n/a');
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const us = (n: number | undefined, digits = 1) => (n !== undefined && Number.isFinite(n) ? `${n.toFixed(digits)} µs` : 'n/a');
const signedUs = (n: number | undefined, digits = 0) =>
  n !== undefined && Number.isFinite(n) ? `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(digits)} µs` : 'n/a';
/** A ratio from adjacent pairs as the page words it: median, pairs and interval, then `more` inside the parenthesis. */
const pairedText = (row: PairedSummary, pairs: number, more = '') =>
  `${row.ratio.median.toFixed(2)}× (median of ${pairs} adjacent pairs, 95% CI ${row.ratioInterval.low.toFixed(2)}–${row.ratioInterval.high.toFixed(2)}${more})`;
const verdict = (t: TargetVerdict) => {
  if (t.pass === null) return 'n/a';
  if (!t.unsettled) return t.pass ? '**pass**' : '**miss**';
  const side = t.floor ? (t.pass ? 'at or above' : 'below') : t.pass ? 'within' : 'over';
  return `**not settled** (median ${side} the limit)`;
};

/** The variants the targets are judged on, in order of preference: the full stack, else balancing only (see {@link subject}). */
export const JUDGED_VARIANTS: readonly string[] = [FULL, BALANCING];

/**
 * The variants whose saturation ratio a target judges, of `ids`: the telemetry-on row (the 0.85× target) and the
 * stack the other targets judge (the stretch; the 0.85× target too when telemetry-on does not run).
 */
export function ratioJudged(ids: readonly string[]): string[] {
  const stack = JUDGED_VARIANTS.find((id) => ids.includes(id));
  return [OTEL_SAMPLED, ...(stack ? [stack] : [])].filter((id) => ids.includes(id));
}

/** One pairing of adjacent windows: `variant` against `reference`. */
export interface Pairing {
  variant: string;
  reference: string;
}

/**
 * The pairings the saturation scenario runs, of `ids`: each {@link ratioJudged} variant against raw
 * undici.request; and when the telemetry-on row and raw undici.request with the same telemetry both run, the
 * telemetry-on row against that reference (its note's reading) and the reference against raw undici.request
 * (what the telemetry alone costs a client with no mesh: the floor of the 0.85× target's first reading).
 */
export function pairings(ids: readonly string[]): Pairing[] {
  const out = ratioJudged(ids).map((variant) => ({ variant, reference: REFERENCE_ID }));
  if (ids.includes(OTEL_SAMPLED) && ids.includes(RAW_OTEL_SAMPLED)) {
    out.push({ variant: OTEL_SAMPLED, reference: RAW_OTEL_SAMPLED }, { variant: RAW_OTEL_SAMPLED, reference: REFERENCE_ID });
  }
  return out;
}

/** The variant that ran more latency rounds than the others (the one the targets judge), said in the method text. */
function extraRounds(lat: NonNullable<CompareResults['latency']>): string {
  const more = Object.entries(lat.summary).find(([, row]) => row.rounds !== undefined && row.rounds > lat.rounds);
  if (!more) return '';
  const [id, row] = more;
  return ` (\`${id}\`, which the latency targets judge, ran ${row.rounds} rounds: its ${row.rounds! - lat.rounds} more came after the others' ${lat.rounds}, to narrow its paired p99's interval)`;
}

/** The mesh variant the targets are judged on: the full stack, else balancing only as a stand-in. */
function subject(results: CompareResults): { id: string; note: string } {
  const id = JUDGED_VARIANTS.find((judged) => results.variants.some((v) => v.id === judged && !v.unavailable)) ?? BALANCING;
  return { id, note: id === FULL ? '' : 'full stack not built yet: judged on MeshClient.request (balancing only)' };
}

/** The median over rounds of variant `a`'s throughput divided by `b`'s in the same round; NaN when either is missing. */
function pairedRatio(sat: ThroughputScenario, a: string, b: string): number {
  const perRound: number[] = [];
  for (let r = 0; r < sat.rounds; r++) {
    const x = sat.samples.find((s) => s.round === r && s.variant === a);
    const y = sat.samples.find((s) => s.round === r && s.variant === b);
    if (x && y) perRound.push(x.rps / y.rps);
  }
  perRound.sort((p, q) => p - q);
  return perRound[perRound.length >> 1] ?? Number.NaN;
}

/** Evaluates every target of issue 10 that the results can speak to. Never throws on missing data. */
export function evaluateTargets(results: CompareResults): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  const { id, note } = subject(results);
  const sat = results.throughput.saturation;
  const mine = sat?.summary[id];
  const add = (target: string, measured: string, pass: boolean | null, extra = note, unsettled = false, floor = false) =>
    out.push({ target, measured, pass, note: extra, ...(unsettled ? { unsettled: true as const } : {}), ...(floor ? { floor: true as const } : {}) });
  /**
   * A "≥ limit × raw" target on variant `vid`: judged on the adjacent pairs of windows when measured (with their
   * interval, and the interleaved rounds' figure beside it), else on the interleaved rounds.
   */
  const addRatio = (target: string, vid: string, limit: number, extra: string) => {
    const row = sat?.summary[vid];
    const paired = sat?.pairs?.summary[vid];
    if (!paired || !sat?.pairs) return add(target, ratio(row?.ratio), row ? row.ratio.median >= limit : null, extra);
    const ci = paired.ratioInterval;
    const straddles = Number.isFinite(ci.low) && ci.low < limit && ci.high >= limit;
    add(
      target,
      pairedText(paired, sat.pairs.rounds, `; interleaved rounds: ${ratio(row?.ratio)}`),
      paired.ratio.median >= limit,
      [
        extra,
        "judged on pairs of adjacent windows with raw: between the interleaved rounds' windows of two variants the shared VM's speed changes" +
          (straddles ? `; the interval straddles ${limit.toFixed(2)}×, so this run alone does not settle it` : ''),
      ]
        .filter(Boolean)
        .join('; '),
      straddles,
      true,
    );
  };
  // undici without undici.request's URL wrapper (slow on Node 20; MeshClient.request skips it too): the mesh's own cost.
  const bare = sat?.summary[BARE];
  const bareRatio = sat && mine && bare ? pairedRatio(sat, id, BARE) : Number.NaN;
  const againstBare = Number.isFinite(bareRatio)
    ? `against Pool.request (raw, no URL wrapper), which skips undici.request's Node 20 slow path as MeshClient.request does: ${bareRatio.toFixed(2)}×`
    : '';
  const withNote = (extra: string) => [note, extra].filter(Boolean).join('; ');
  // "≥ 0.95× with telemetry off is the stretch" reads the 0.85× target as telemetry on: an SDK recording metrics and
  // sampling traces as production runs it (1%, Istio's default rate). Results without that variant judge the stack as
  // measured, telemetry off, and say so.
  const sampled = sat?.summary[OTEL_SAMPLED];
  if (sampled && sat) {
    const sampledBare = bare ? pairedRatio(sat, OTEL_SAMPLED, BARE) : Number.NaN;
    const sampledRaw = sat.summary[RAW_OTEL_SAMPLED] ? pairedRatio(sat, OTEL_SAMPLED, RAW_OTEL_SAMPLED) : Number.NaN;
    const sameTelemetry = sat.pairs?.summary[pairKey(OTEL_SAMPLED, RAW_OTEL_SAMPLED, REFERENCE_ID)];
    const floor = sat.pairs?.summary[RAW_OTEL_SAMPLED];
    addRatio(
      'full default stack, telemetry on (an OTel SDK recording metrics, 1% of traces sampled) ≥ 0.85× raw undici.request (saturation)',
      OTEL_SAMPLED,
      0.85,
      withNote(
        "telemetry as production runs it: every measurement recorded, 1% of new traces (Istio's default sampling rate), the rest propagated unsampled" +
          (Number.isFinite(sampledBare) ? `; against Pool.request (raw, no URL wrapper): ${sampledBare.toFixed(2)}×` : '') +
          (sameTelemetry || Number.isFinite(sampledRaw)
            ? `; against raw undici.request traced by instrumentation-undici into the same SDK and sampler (1% of traces): ${
                sameTelemetry
                  ? pairedText(sameTelemetry, sat.pairs!.rounds, `; interleaved rounds: ${Number.isFinite(sampledRaw) ? `${sampledRaw.toFixed(2)}×` : 'n/a'}`)
                  : `${sampledRaw.toFixed(2)}×`
              }`
            : '') +
          (floor
            ? `; raw undici.request with that telemetry, against raw undici.request without it: ${pairedText(floor, sat.pairs!.rounds)}, what the telemetry alone costs a client with no mesh`
            : ''),
      ),
    );
  } else {
    addRatio(
      'full default stack ≥ 0.85× raw undici.request (saturation)',
      id,
      0.85,
      withNote(['telemetry off (no telemetry-on variant in this run)', againstBare].filter(Boolean).join('; ')),
    );
  }
  const otel = sat?.summary[OTEL];
  if (otel && sat) {
    const againstRawOtel = pairedRatio(sat, OTEL, RAW_OTEL);
    add(
      'the same with an OpenTelemetry SDK tracing every request ≥ 0.85× raw',
      ratio(otel.ratio),
      otel.ratio.median >= 0.85,
      'if the target meant every request traced: OTel SDK 2.x tracer (batch processor) and meter record 2 spans, 1 span event and 2 measurements per request; the SDK does most of that work (docs/benchmarks.md)' +
        (Number.isFinite(againstRawOtel)
          ? `; against raw undici.request traced by instrumentation-undici into the same SDK (1 span, 1 measurement): ${againstRawOtel.toFixed(2)}×`
          : ''),
    );
  }
  addRatio('stretch: ≥ 0.95× raw with telemetry off', id, 0.95, withNote(againstBare));
  const hap = sat?.summary.haproxy;
  if (sat && mine && hap) {
    const m = pairedRatio(sat, id, 'haproxy');
    const ceiling = 1 / hap.ratio.median;
    add(
      '≥ 1.6× the HAProxy hop (saturation)',
      `${m.toFixed(2)}× (raw is ${ceiling.toFixed(2)}× the hop: the ceiling)`,
      m >= 1.6,
      `${note ? `${note}; ` : ''}${((100 * m) / ceiling).toFixed(0)}% of the ceiling; the issue's 1.6× is 86% of the 1.85× ceiling it measured`,
    );
  } else add('≥ 1.6× the HAProxy hop (saturation)', 'n/a', null, hap ? note : 'HAProxy hop not measured');
  const lat = results.latency?.summary;
  const lm = lat?.[id];
  const lh = lat?.haproxy;
  add('p99 lower than the HAProxy hop (1,000 req/s)', lm && lh ? `${us(lm.p99, 0)} vs ${us(lh.p99, 0)}` : 'n/a', lm && lh ? lm.p99 < lh.p99 : null);
  // The telemetry-on figure beside each latency verdict (judged, like the CPU one, on the stack as measured).
  const withTelemetry = (row: LatencySummary | undefined, q: 'p50' | 'p99') => {
    const v = row?.addedPaired?.[q];
    if (v === undefined || !Number.isFinite(v)) return '';
    const c = row?.addedPairedInterval?.[q];
    return `; with telemetry on (1% of traces): ${signedUs(v)}${c && Number.isFinite(c.low) ? ` (CI ${signedUs(c.low)} to ${signedUs(c.high)})` : ''}`;
  };
  // Judged on the paired per-round differences when measured (robust to one window hit by a machine stall),
  // with the pooled difference beside it; older results have only the pooled one.
  const addedLatency = (q: 'p50' | 'p99', limit: number) => {
    if (!lm) return add(`added latency ≤ ${limit} µs ${q} at 1,000 req/s`, 'n/a', null);
    const pairedQ = lm.addedPaired?.[q];
    if (pairedQ === undefined || !Number.isFinite(pairedQ)) {
      return add(`added latency ≤ ${limit} µs ${q} at 1,000 req/s`, signedUs(lm.added[q]), lm.added[q] <= limit);
    }
    const ci = lm.addedPairedInterval?.[q];
    const interval = ci && Number.isFinite(ci.low) ? `, 95% CI ${signedUs(ci.low)} to ${signedUs(ci.high)}` : '';
    const straddles = ci !== undefined && ci.low <= limit && ci.high > limit;
    add(
      `added latency ≤ ${limit} µs ${q} at 1,000 req/s`,
      `${signedUs(pairedQ)} (median of per-round differences${interval}; pooled ${signedUs(lm.added[q])})`,
      pairedQ <= limit,
      `${note ? `${note}; ` : ''}judged on the paired per-round difference: a pooled ${q} moves with any one window the machine stalled in` +
        (straddles ? `; the interval straddles ${limit} µs, so this run alone does not settle it` : '') +
        withTelemetry(lat?.[OTEL_SAMPLED], q),
      straddles,
    );
  };
  addedLatency('p50', 25);
  addedLatency('p99', 100);
  const overBare = (row: { cpuUsPerReq: Spread } | undefined, bareRow: { cpuUsPerReq: Spread } | undefined) =>
    row && bareRow ? `over Pool.request (raw, no URL wrapper): ${signedUs(row.cpuUsPerReq.median - bareRow.cpuUsPerReq.median, 1)}` : '';
  add(
    'added client CPU ≤ 10 µs per request (over sockets)',
    mine ? `${signedUs(mine.addedCpuUs.median, 1)}` : 'n/a',
    mine ? mine.addedCpuUs.median <= 10 : null,
    withNote(
      [overBare(mine, bare), sampled ? `with telemetry on (1% of traces): ${signedUs(sampled.addedCpuUs.median, 1)}` : ''].filter(Boolean).join('; '),
    ),
  );
  const pipe = results.throughput.pipeline?.summary[id];
  if (pipe) {
    add(
      'added client CPU ≤ 10 µs per request (in process, no sockets)',
      signedUs(pipe.addedCpuUs.median, 1),
      pipe.addedCpuUs.median <= 10,
      withNote(["upper bound: includes proxyless's transport bridge", overBare(pipe, results.throughput.pipeline?.summary[BARE])].filter(Boolean).join('; ')),
    );
  }
  const m10k = results.memory?.find((m) => m.endpoints === 10_000);
  add('≤ 1 KB heap per endpoint at 10,000 endpoints', m10k ? `${int(m10k.perEndpointBytes)} B` : 'n/a', m10k ? m10k.perEndpointBytes <= 1024 : null, '');
  const leak = results.leak;
  add(
    'heap flat over a long run with 30% failures',
    leak ? `${int(leak.requests)} requests: ${(leak.growthBytes / 1024).toFixed(0)} KiB growth, ${leak.bytesPerRequest.toFixed(3)} B/request` : 'n/a',
    leak ? leak.growthBytes < 2 * 1024 * 1024 && leak.bytesPerRequest < 8 : null,
    leak
      ? `run on ${leak.variant}; flat = < 2 MiB growth after warm-up and a slope < 8 B/request (any retained object per request is more)${leak.requests < 1_000_000 ? '; the issue asks 1,000,000 requests (--full), which resolves ~2 B/request' : ''}`
      : '',
  );
  return out;
}

/** True when the load average at start says other work shared the machine. */
export function busy(results: CompareResults): boolean {
  return (results.meta.loadAverageAtStart[0] ?? 0) > results.meta.cores * 0.5;
}

function label(results: CompareResults, id: string): string {
  return results.variants.find((v) => v.id === id)?.label ?? id;
}

function throughputTable(results: CompareResults, s: ThroughputScenario): string[] {
  const rows = [
    '| variant | ratio to raw (median, min–max) | req/s (median, min–max) | client CPU / req | target CPU / req | proxy CPU / req | errors |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const v of results.variants) {
    const row = s.summary[v.id];
    if (!row) {
      rows.push(`| ${v.label} | ${s.unavailable?.[v.id] ?? v.unavailable ?? 'not run'} | | | | | |`);
      continue;
    }
    rows.push(
      `| ${v.label} | ${v.id === REFERENCE_ID ? '**1.00×** (reference)' : `**${ratio(row.ratio)}**`} | ${int(row.rps.median)} (${int(row.rps.min)}–${int(row.rps.max)}) | ${us(row.cpuUsPerReq.median)} | ${us(row.targetCpuUsPerReq.median)} | ${row.proxyCpuUsPerReq ? us(row.proxyCpuUsPerReq.median) : '—'} | ${row.errors}${row.firstError ? ` (${row.firstError.replace(/\|/g, '/')})` : ''} |`,
    );
  }
  return rows;
}

/** The saturation ratios the targets judge, from adjacent pairs of windows (nothing for results without them). */
function pairsSection(results: CompareResults, s: ThroughputScenario): string[] {
  const pairs = s.pairs;
  if (!pairs) return [];
  const rows = [
    '#### The judged ratios, in adjacent pairs',
    '',
    `After the interleaved rounds, each variant whose ratio a target judges ran ${pairs.rounds} more times in a pair of adjacent ${pairs.windowMs / 1000} s windows with raw undici.request (raw first in even pairs, second in odd ones)${Object.values(pairs.summary).some((row) => row.reference !== undefined) ? ', and the telemetry-on row as many times with raw undici.request carrying the same telemetry' : ''}${pairs.summary[RAW_OTEL_SAMPLED] ? " (that reference also ran against raw undici.request: what the telemetry costs with no mesh)" : ''}. In an interleaved round a variant's window and raw's can be a minute apart, and on a shared VM the machine's speed changes in between (one variant's client CPU per request can differ 2× from one round to the next); the two windows of a pair are seconds apart. The interval is the 95% confidence interval of the median ratio (sign-test order statistics).`,
    '',
    '| variant | against | ratio (median of pairs) | 95% CI | min–max | added client CPU / req (median of pairs) | errors |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [key, row] of Object.entries(pairs.summary)) {
    const id = row.variant ?? key;
    rows.push(
      `| ${label(results, id)} | ${label(results, row.reference ?? REFERENCE_ID)} | **${row.ratio.median.toFixed(2)}×** | ${row.ratioInterval.low.toFixed(2)}–${row.ratioInterval.high.toFixed(2)} | ${row.ratio.min.toFixed(2)}–${row.ratio.max.toFixed(2)} | ${signedUs(row.addedCpuUs.median, 1)} | ${row.errors} |`,
    );
  }
  rows.push('');
  return rows;
}

/** The markdown of docs/benchmarks-compare.md. */
export function renderMarkdown(results: CompareResults): string {
  const m = results.meta;
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(
    '<!-- Generated by test/bench/compare/main.ts from docs/benchmarks-compare.json. Do not edit: re-run the bench or `npx tsx test/bench/compare/main.ts --render`. -->',
    '# Benchmarks: proxyless side by side',
    '',
    `Measured ${m.date.slice(0, 16).replace('T', ' ')} UTC, \`--${m.mode}\` run (${m.durationS} s), Node ${m.node}, undici ${m.undici}, proxyless from ${m.proxyless === 'dist' ? '`dist/` (the tsc build)' : '`src/` through tsx'}${m.commit ? ` at commit \`${m.commit}\`` : ''}, on ${m.cores} × ${m.cpuModel}${m.pinned ? ' (client pinned to CPU 0, target to CPU 1)' : ' (not pinned)'}. ${m.note}.`,
    '',
    '> The headline is each variant\'s throughput **ratio to raw `undici.request`** measured in the same rounds; absolute requests per second are context only and depend on the machine.',
    '',
    ...(busy(results)
      ? [
          `> **Noisy run.** The machine was busy when this ran (load average ${m.loadAverageAtStart[0]!.toFixed(1)} on ${m.cores} cores): other processes took CPU from the client, the target and the proxies unevenly, so these figures show that the harness works, not what proxyless costs. Re-measure on a quiet machine before quoting them.`,
          '',
        ]
      : []),
    '## Targets',
    '',
    '| target (issue 10) | measured | verdict | note |',
    '| --- | --- | --- | --- |',
    ...evaluateTargets(results).map((t) => `| ${t.target} | ${t.measured} | ${verdict(t)} | ${t.note} |`),
    '',
  );

  push('## Side by side', '');
  const sat = results.throughput.saturation;
  if (sat) {
    push(
      `### ${sat.title}`,
      '',
      `${sat.endpoints} endpoints, ${sat.concurrency} callers back to back, ${sat.connectionsPerEndpoint} connections per endpoint (proxies: the same total), ${sat.rounds} rounds × ${sat.windowMs / 1000} s per variant, interleaved.`,
      '',
      '![Throughput relative to raw undici.request](benchmarks-throughput.png)',
      '',
      ...throughputTable(results, sat),
      '',
      ...pairsSection(results, sat),
    );
  }
  const und = results.throughput.undici;
  if (und) {
    push(
      `### ${und.title}`,
      '',
      `As in undici's README benchmarks: ${und.bodyBytes / 1024} KiB bodies, the server answers after ${und.serverDelayMs} ms, ${und.connectionsPerEndpoint * und.endpoints} connections in all (${und.connectionsPerEndpoint} per endpoint × ${und.endpoints}), ${und.concurrency} requests in flight; ${und.rounds} rounds × ${und.windowMs / 1000} s.`,
      '',
      ...throughputTable(results, und),
      '',
    );
  }
  push('Variants:', '', ...results.variants.map((v) => `- **${v.label}** (\`${v.id}\`): ${v.description}.${v.unavailable ? ` *${v.unavailable}*` : ''}`), '');

  push('## Latency at 1,000 requests/s', '');
  const lat = results.latency;
  if (lat) {
    if (lat.note) push(`> ${lat.note}`, '');
    push(
      `Open loop: a request is scheduled every ${(1000 / lat.rate).toFixed(0)} ms whatever the responses do, and its latency is counted from its **scheduled** send time (coordinated-omission-safe). ${
        lat.pairedWithReference
          ? `Each variant **shares its windows with raw undici.request, request by request** (A B A B, ${int(lat.rate)} req/s in all, ${int(lat.rate / 2)} each): ${lat.rounds} rounds × ${lat.windowMs / 1000} s per variant, the variants in turn${extraRounds(lat)}, so each stall of the machine (a descheduled vCPU, a collection, the target's own pause: on the 2-vCPU VM they come as trains of 2–10 ms) lands on the variant and its reference alike. Its "added" figures are against raw's samples from those same windows; raw's own row pools all its windows. A variant whose instrumentation is process-wide (it would see raw's requests) runs alone, right after a window of raw alone, half a window each`
          : `${lat.rounds} rounds × ${lat.windowMs / 1000} s per variant, interleaved`
      }; percentiles over all samples; "added" is the variant's percentile minus raw undici.request's (pooled), "paired" the median over rounds of the same difference within each round (the targets give its 95% confidence interval: the sign-test order statistics, which hold whatever the distribution). No full garbage collection is forced before these windows (it shrinks the young generation, whose first scavenges then land in the window's tail). "Late sends" left more than 0.2 ms after their scheduled time (pacing polls with setImmediate near each send time, as wrk2 does, so timer slop does not count) ; the client's event loop was busy, and their wait is in the latency.`,
      '',
      '| variant | p50 | p90 | p99 (per-round min–max) | added p50 | added p90 | added p99 | added p50 / p90 / p99, paired | samples | late sends | errors |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const v of results.variants) {
      const r = lat.summary[v.id];
      if (!r) {
        push(`| ${v.label} | ${lat.unavailable?.[v.id] ?? v.unavailable ?? 'not run'} | | | | | | | | | |`);
        continue;
      }
      push(
        `| ${v.label} | ${us(r.p50, 0)} | ${us(r.p90, 0)} | ${us(r.p99, 0)} (${int(r.p99Rounds.min)}–${int(r.p99Rounds.max)}) | ${signedUs(r.added.p50)} | ${signedUs(r.added.p90)} | ${signedUs(r.added.p99)} | ${r.addedPaired ? `${signedUs(r.addedPaired.p50)} / ${signedUs(r.addedPaired.p90)} / ${signedUs(r.addedPaired.p99)}` : 'n/a'} | ${int(r.samples)} | ${int(r.late)} | ${r.errors} |`,
      );
    }
    push('');
  } else push('Not measured in this run.', '');

  push('## CPU per request', '');
  if (sat) {
    push(
      'Client process CPU time (`process.cpuUsage()`, user + system) divided by the requests completed in each saturation window; "added" is per round against raw undici.request. For the proxy hops the proxy\'s own CPU (from `/proc/<pid>/stat`) is shown beside it: that is the cost a sidecar moves out of the client, not away.',
      '',
      '| variant | client CPU / req (median, min–max) | added client CPU / req | proxy CPU / req | client + proxy |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const v of results.variants) {
      const r = sat.summary[v.id];
      if (!r) continue;
      const proxy = r.proxyCpuUsPerReq?.median;
      push(
        `| ${v.label} | ${us(r.cpuUsPerReq.median)} (${r.cpuUsPerReq.min.toFixed(1)}–${r.cpuUsPerReq.max.toFixed(1)}) | ${v.id === REFERENCE_ID ? '—' : signedUs(r.addedCpuUs.median, 1)} | ${proxy === undefined ? '—' : us(proxy)} | ${proxy === undefined ? '—' : us(r.cpuUsPerReq.median + proxy)} |`,
      );
    }
    push('');
  } else push('Not measured in this run.', '');
  const pipe = results.throughput.pipeline;
  if (pipe) {
    push(
      `### ${pipe.title}`,
      '',
      `The same variants over an in-process stand-in for each endpoint's pool that answers 200 with 1 KiB on the next turn of the event loop (\`setImmediate\`, as a socket read would; no sockets, no other process), ${pipe.concurrency} callers, ${pipe.rounds} rounds × ${pipe.windowMs / 1000} s: the CPU the client-side code costs, with little of the machine's noise. Mesh variants reach the stand-in through proxyless's \`transport\` option and its legacy-handler bridge, so their figure is an upper bound.`,
      '',
      '| variant | ratio to raw | client CPU / req (median, min–max) | added client CPU / req |',
      '| --- | --- | --- | --- |',
    );
    for (const v of results.variants) {
      const r = pipe.summary[v.id];
      if (!r) continue;
      push(
        `| ${v.label} | ${v.id === REFERENCE_ID ? '1.00×' : ratio(r.ratio)} | ${us(r.cpuUsPerReq.median, 2)} (${r.cpuUsPerReq.min.toFixed(2)}–${r.cpuUsPerReq.max.toFixed(2)}) | ${v.id === REFERENCE_ID ? '—' : signedUs(r.addedCpuUs.median, 2)} |`,
      );
    }
    push('');
  }

  push('## Memory', '');
  if (results.memory) {
    push(
      'Heap retained by a `MeshClient` with N static endpoints (one service, round robin), measured in a child `node --expose-gc` after GC. Connection pools are created on first use, so this is the mesh\'s own state per endpoint.',
      '',
      '| endpoints | heap retained | per endpoint |',
      '| --- | --- | --- |',
      ...results.memory.map((r) => `| ${int(r.endpoints)} | ${(r.heapBytes / 1024).toFixed(1)} KiB | ${int(r.perEndpointBytes)} B |`),
      '',
    );
  }
  if (results.leak) {
    const l = results.leak;
    push(
      `Heap after GC at 10 checkpoints over ${int(l.requests)} requests with 30% failures (2 in 10 answer 503, 1 in 10 is reset), through \`${l.variant}\` (${label(results, l.variant)}), 32 callers: ${int(l.ok)} ok, ${int(l.serverErrors)} 5xx, ${int(l.errors)} thrown.`,
      '',
      '| requests | heap used |',
      '| --- | --- |',
      ...l.samples.map((s) => `| ${int(s.requests)} | ${(s.heapBytes / 1024 / 1024).toFixed(2)} MiB |`),
      '',
      `Growth from the first warm checkpoint to the last: ${(l.growthBytes / 1024).toFixed(0)} KiB; slope ${l.bytesPerRequest.toFixed(3)} bytes per request.`,
      '',
    );
  }
  if (!results.memory && !results.leak) push('Not measured in this run.', '');

  const prerollMs = sat?.prerollMs;
  const preroll =
    prerollMs === undefined
      ? ' and a full GC before each window'
      : `; right before each window the same variant runs unmeasured for ${prerollMs / 1000} s (a pre-roll: variants share one process, and the first half second after a switch runs code last run for another variant), and no collection is forced between windows (a forced full GC lowers the heap limit, so incremental marking starts sooner in the next window and taxes the variants that allocate most)`;
  push(
    '## Method',
    '',
    '- **Processes.** The client variants all run in one Node process; the loopback target (node:http servers, one per endpoint and profile) runs in another. With 2+ CPUs and `taskset`, the client is pinned to CPU 0 and the target to CPU 1. HAProxy (1 thread) and nginx (1 worker) are started by the bench with generated configs and left to the scheduler: like a sidecar, they share the machine with the client and the target.',
    '- **Reference.** Raw `undici.request` over a `Pool` per endpoint with a hand-written round robin across the same endpoints, same connections per endpoint. Every other variant reads the whole body the same way (`arrayBuffer()`).',
    `- **Interleaving.** Each round runs every variant once for the same window, order A B C … then … C B A, after a warm-up per variant${preroll}. Ratios are taken within a round, then the median and the min–max over rounds are reported.${sat?.pairs ? ' The ratios a target judges are measured again in adjacent pairs of windows with raw, after the rounds (see "The judged ratios, in adjacent pairs").' : ''}`,
    '- **Variants that do not exist yet** (options this build of proxyless rejects, or an OpenTelemetry SDK that is not installed) are listed as *n/a* with the reason instead of failing the run; they are declared in `test/bench/compare/variants.ts` and switch on by themselves.',
    '- **Targets** are reported, never enforced: the run does not fail on a miss.',
    '',
    '## Machine',
    '',
    `- ${m.cores} × ${m.cpuModel}; load average at start ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' / ')}.`,
    `- Node ${m.node}, undici ${m.undici}; ${Object.entries(m.proxies).map(([k, v]) => `${k}: ${v}`).join('; ') || 'no proxies'}.`,
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm ci',
    'sudo .ci/install-bench-deps.sh          # haproxy + nginx (Debian/Ubuntu)',
    'npx tsx test/bench/compare/main.ts --quick   # ~10 min; --full for the publishable run (1,000,000-request leak check)',
    'npx tsx test/bench/compare/main.ts --smoke   # seconds, what CI runs; writes only .bench-out/',
    '```',
    '',
    `This page's run: \`${m.command}\`${m.commit ? ` at commit \`${m.commit}\`` : ''}.`,
    '',
    'Options: `--scenarios saturation,undici,pipeline,latency,memory,leak`, `--variants id,id`, `--out file.json`, `--no-docs`, `--no-pin` (let the scheduler place the client and the target: on a busy machine pinned processes cannot escape a contended core); `--render [file.json]` rebuilds this page and the chart from a results file. Run on a quiet machine: anything else running skews the absolute figures and, less so, the ratios.',
    '',
  );
  return lines.join('\n');
}

/** The saturation chart: ratio to raw per variant, with the min–max whiskers. */
export function renderChart(results: CompareResults): Buffer {
  const sat = results.throughput.saturation ?? Object.values(results.throughput)[0];
  const palette: Record<string, Rgb> = {
    [REFERENCE_ID]: [108, 117, 125],
    'undici-dispatcher-request': [108, 117, 125],
    'undici-fetch': [108, 117, 125],
    'undici-request-otel': [108, 117, 125],
    'undici-request-otel-sampled': [108, 117, 125],
    haproxy: [220, 53, 69],
    nginx: [220, 53, 69],
    'cockatiel-fetch': [253, 126, 20],
  };
  const bars: Bar[] = results.variants.map((v) => {
    const r = sat?.summary[v.id];
    if (!r) return { label: v.label, note: (sat?.unavailable?.[v.id] ?? v.unavailable ?? '').includes('not built yet') ? 'N/A (NOT BUILT YET)' : 'N/A' };
    return { label: v.label, value: r.ratio.median, min: r.ratio.min, max: r.ratio.max, color: palette[v.id] ?? [13, 110, 253] };
  });
  return barChart(
    `Throughput relative to raw undici.request: ${sat?.title ?? ''}`,
    `median and min-max of ${sat?.rounds ?? 0} interleaved rounds, ${results.meta.mode} run, ${results.meta.date.slice(0, 10)}${busy(results) ? `, NOISY: load ${results.meta.loadAverageAtStart[0]!.toFixed(0)} on ${results.meta.cores} cores` : ''}`,
    bars,
    [
      { at: 1, label: '1.00' },
      { at: 0.85, label: '0.85' },
    ],
  );
}

/** Writes docs/benchmarks-compare.md and docs/benchmarks-throughput.png under `root`. */
export function renderDocs(results: CompareResults, root: string): void {
  writeFileSync(join(root, 'docs/benchmarks-compare.md'), renderMarkdown(results));
  writeFileSync(join(root, 'docs/benchmarks-throughput.png'), renderChart(results));
}
