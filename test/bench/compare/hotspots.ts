/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by
 * function, and total (inclusive) time of proxyless's own functions (its
 * `src/`, or `dist/`, which the suite measures: see proxyless.ts).
 *
 *   npx tsx test/bench/compare/hotspots.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** proxyless's own code: its src/ or its dist/, not a dependency's. */
const OWN = [`${ROOT}/src/`, `${ROOT}/dist/`];

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: hotspots.ts <file.cpuprofile> [top]');
  const top = Number(process.argv[3] ?? '25');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const name = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/(node_modules|src|dist)\//, '$1/');
    return `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
  };
  const selfByName = new Map<string, number>();
  const inclusiveByName = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    selfByName.set(name(n), (selfByName.get(name(n)) ?? 0) + us);
    // Inclusive time for proxyless's frames: walk up once per distinct name.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)!;
      const url = node.callFrame.url.replace(/^file:\/\//, '');
      if (!OWN.some((dir) => url.startsWith(dir))) continue;
      const key = name(node);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusiveByName.set(key, (inclusiveByName.get(key) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
  console.log(`total sampled ${(total / 1000).toFixed(0)} ms\n\nself time, top ${top}:`);
  for (const [k, us] of [...selfByName].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
  console.log(`\ninclusive time of proxyless's functions, top ${top}:`);
  for (const [k, us] of [...inclusiveByName].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
}

main();
