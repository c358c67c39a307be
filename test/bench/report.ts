/**
 * Turns a results file into the generated part of docs/benchmarks.md (targets with verdicts, the tables) and the
 * chart (an SVG beside the results). Pure functions of the results, so the page can be rendered again without
 * running anything: `npm run bench -- --render`.
 */
import type { Estimate } from './stats.js';
import { LATENCY_RATE, type PairResult, type Results } from './suite.js';
import { REFERENCE } from './variants.js';

/** A table of a benchmark report. */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
}

/** What a benchmark of the balancers returns, and the options it takes. */
export interface BenchReport {
  title: string;
  tables: Table[];
}
export interface BenchOptions {
  /** A seconds-long run that only proves the benchmark works. */
  smoke: boolean;
}

export type Verdict = 'pass' | 'miss' | 'not settled' | 'n/a';

/**
 * A target `median ≥ limit` (floor) or `median ≤ limit` (ceiling), judged on an estimate's 95% interval: pass or
 * miss when the whole interval is on one side, not settled when it straddles the limit.
 */
export function judge(e: Estimate | undefined, limit: number, kind: 'floor' | 'ceiling'): Verdict {
  if (!e || !Number.isFinite(e.median)) return 'n/a';
  const [lo, hi] = kind === 'floor' ? [e.low, e.high] : [-e.high, -e.low];
  const l = kind === 'floor' ? limit : -limit;
  return lo >= l ? 'pass' : hi < l ? 'miss' : 'not settled';
}

const x = (e: Estimate) => `${e.median.toFixed(2)}× (95% CI ${e.low.toFixed(2)}–${e.high.toFixed(2)}, ${e.n} pairs)`;
const sign = (n: number, d = 0) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })}`;
const us = (e: Estimate, d = 0) => `${sign(e.median, d)} µs (95% CI ${sign(e.low, d)} to ${sign(e.high, d)})`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

function pair(results: Results, variant: string, reference: string): PairResult | undefined {
  return results.pairs.find((p) => p.variant === variant && p.reference === reference);
}

/** Every target the README and this page promise, with what was measured and its verdict. */
export function targets(results: Results): { target: string; measured: string; verdict: Verdict }[] {
  const out: { target: string; measured: string; verdict: Verdict }[] = [];
  const ratio = (target: string, variant: string, reference: string, limit: number) => {
    const p = pair(results, variant, reference);
    out.push({ target, measured: p ? x(p.ratio) : 'n/a', verdict: judge(p?.ratio, limit, 'floor') });
  };
  ratio('full stack, telemetry on (OTel SDK: metrics, 1% of traces) ≥ 0.85× raw `undici.request`', 'mesh-full-otel', REFERENCE, 0.85);
  ratio('stretch: full stack, telemetry off ≥ 0.95× raw `undici.request`', 'mesh-full', REFERENCE, 0.95);
  ratio('full stack ≥ 1.6× the HAProxy hop', 'mesh-full', 'haproxy', 1.6);
  const lat = results.latency?.rows;
  const mesh = lat?.['mesh-full'];
  const hap = lat?.haproxy;
  out.push({
    target: `p99 lower than the HAProxy hop at ${int(LATENCY_RATE)} req/s`,
    measured: mesh && hap ? `${int(mesh.p99)} µs vs ${int(hap.p99)} µs` : 'n/a',
    verdict: mesh && hap ? (mesh.p99 < hap.p99 ? 'pass' : 'miss') : 'n/a',
  });
  for (const [q, limit] of [['P50', 25], ['P99', 100]] as const) {
    const e = mesh?.[`added${q}`];
    out.push({ target: `added ${q.toLowerCase()} ≤ ${limit} µs at ${int(LATENCY_RATE)} req/s`, measured: e ? us(e) : 'n/a', verdict: judge(e, limit, 'ceiling') });
  }
  const cpu = pair(results, 'mesh-full', REFERENCE)?.addedCpuUs;
  out.push({ target: 'added client CPU ≤ 10 µs per request', measured: cpu ? us(cpu, 1) : 'n/a', verdict: judge(cpu, 10, 'ceiling') });
  const m = results.memory?.find((r) => r.endpoints === 10_000);
  out.push({
    target: '≤ 1 KB heap per endpoint at 10,000 endpoints',
    measured: m ? `${int(m.perEndpointBytes)} B` : 'n/a',
    verdict: m ? (m.perEndpointBytes <= 1024 ? 'pass' : 'miss') : 'n/a',
  });
  const l = results.leak;
  out.push({
    target: 'heap flat under 30% failures (< 2 MiB growth after warm-up, < 8 B per request)',
    measured: l ? `${int(l.requests)} requests: ${sign(l.growthBytes / 1024)} KiB, ${sign(l.bytesPerRequest, 3)} B/request` : 'n/a',
    verdict: l ? (l.growthBytes < 2 * 1024 * 1024 && l.bytesPerRequest < 8 ? 'pass' : 'miss') : 'n/a',
  });
  return out;
}

/** The generated part of docs/benchmarks.md. */
export function renderMarkdown(results: Results, chart: string): string {
  const { meta, plan } = results;
  const label = (id: string) => results.labels[id] ?? id;
  const busy = (meta.loadAverage[0] ?? 0) > meta.cores * 0.5;
  const lines = [
    `These figures come from a \`--${meta.mode}\` run of ${int(meta.durationS)} s (${plan.pairRounds} pairs of ${plan.windowMs / 1000} s windows per pairing, ` +
      `${plan.latencyRounds} latency rounds of ${plan.latencyWindowMs / 1000} s, ${int(plan.leakRequests)} requests for the heap check) on ${meta.cores} × ${meta.cpu}, ` +
      `Node ${meta.node}, undici ${meta.undici}, ${meta.pinned ? 'client pinned to CPU 0 and the target to CPU 1' : 'not pinned'}, ` +
      `load average ${meta.loadAverage.map((n) => n.toFixed(2)).join(' / ')} at start${meta.baseline ? `; baseline build: \`${meta.baseline}\`` : ''}.` +
      (busy ? ' **The machine was busy** (load average above half the cores): other processes took CPU unevenly, so read the intervals, not the medians alone.' : ''),
    '',
    '### Targets',
    '',
    markdownTable(['target', 'measured', 'verdict'], targets(results).map((t) => [t.target, t.measured, `**${t.verdict}**`])),
    '',
    '### Throughput, in adjacent pairs',
    '',
    `![Throughput ratios with their 95% intervals](${chart})`,
    '',
    markdownTable(
      ['variant', 'against', 'ratio (median)', '95% CI', 'req/s', 'client CPU / req', 'added CPU / req', 'errors'],
      results.pairs.map((p) => [
        label(p.variant),
        label(p.reference),
        `**${p.ratio.median.toFixed(2)}×**`,
        `${p.ratio.low.toFixed(2)}–${p.ratio.high.toFixed(2)}`,
        int(p.rps),
        `${p.cpuUsPerReq.toFixed(1)} µs`,
        `${sign(p.addedCpuUs.median, 1)} µs`,
        `${p.errors}${p.firstError ? ` (${p.firstError.replace(/\|/g, '/')})` : ''}`,
      ]),
    ),
    '',
  ];
  const unavailable = Object.entries(results.unavailable);
  if (unavailable.length > 0) lines.push(`Not run: ${unavailable.map(([id, why]) => `${label(id)} (${why})`).join('; ')}.`, '');
  if (results.latency) {
    lines.push(
      `### Latency at ${int(LATENCY_RATE)} requests/s`,
      '',
      markdownTable(
        ['variant', 'p50', 'p99', 'added p50 (median of rounds, 95% CI)', 'added p99', 'samples', 'errors'],
        results.latency.variants.map((id) => {
          const r = results.latency!.rows[id]!;
          const ref = id === REFERENCE;
          return [label(id), `${int(r.p50)} µs`, `${int(r.p99)} µs`, ref ? '—' : us(r.addedP50), ref ? '—' : us(r.addedP99), int(r.samples), String(r.errors)];
        }),
      ),
      '',
    );
  }
  const m = results.memory;
  const l = results.leak;
  if (m || l) {
    lines.push(
      '### Memory',
      '',
      [
        m ? `Heap per endpoint: ${m.map((r) => `${int(r.perEndpointBytes)} B at ${int(r.endpoints)}`).join(', ')} endpoints.` : '',
        l ? `Under 30% failures, ${int(l.requests)} requests (${int(l.errors)} failed after retries): the heap changed by ${sign(l.growthBytes / 1024)} KiB after warm-up, a slope of ${sign(l.bytesPerRequest, 3)} B per request.` : '',
      ].filter(Boolean).join(' '),
      '',
    );
  }
  for (const report of results.tables) {
    lines.push(`### ${report.title}`, '');
    for (const t of report.tables) lines.push(`${t.title}:`, '', markdownTable(t.header, t.rows), '');
  }
  return lines.join('\n');
}

/** A bar per pairing: the median ratio, its 95% interval as a whisker, and a line at 1×. */
export function renderSvg(results: Results): string {
  const pairs = results.pairs;
  const max = Math.max(2, ...pairs.map((p) => p.ratio.high).filter(Number.isFinite));
  const [left, width, h] = [480, 400, 26];
  const at = (v: number) => left + (Math.min(v, max) / max) * width;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = pairs.map((p, i) => {
    const y = 30 + i * h;
    const name = `${results.labels[p.variant] ?? p.variant} / ${results.labels[p.reference] ?? p.reference}`;
    return (
      `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(name)}</text>` +
      `<rect x="${left}" y="${y + 3}" width="${(at(p.ratio.median) - left).toFixed(1)}" height="16" fill="#4c78a8"/>` +
      `<line x1="${at(p.ratio.low).toFixed(1)}" x2="${at(p.ratio.high).toFixed(1)}" y1="${y + 11}" y2="${y + 11}" stroke="#000"/>` +
      `<text x="${(at(p.ratio.high) + 4).toFixed(1)}" y="${y + 15}">${p.ratio.median.toFixed(2)}×</text>`
    );
  });
  const total = 40 + pairs.length * h;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 60}" height="${total}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="${left}" y="18" font-weight="bold">Throughput ratio (median of adjacent pairs, 95% CI), ${results.meta.mode} run</text>`,
    ...bars,
    `<line x1="${at(1)}" x2="${at(1)}" y1="24" y2="${total - 6}" stroke="#d62728" stroke-dasharray="4 3"/>`,
    '</svg>',
    '',
  ].join('\n');
}

export const BEGIN = '<!-- begin generated: npm run bench -- --render (test/bench/report.ts) -->';
export const END = '<!-- end generated -->';

/** `page` with the text between the generated markers replaced by `block`; throws when the markers are missing. */
export function splice(page: string, block: string): string {
  const from = page.indexOf(BEGIN);
  const to = page.indexOf(END);
  if (from < 0 || to < from) throw new Error('docs/benchmarks.md has no generated markers');
  return `${page.slice(0, from + BEGIN.length)}\n\n${block.trimEnd()}\n\n${page.slice(to)}`;
}
