/**
 * Where a variant allocates, per request: V8's sampling heap profiler with
 * collected objects included (so it counts allocation, not retention), over
 * the in-process transport. Prints bytes per request by allocating function.
 *
 *   npx tsx test/bench/compare/alloc.ts mesh-request-full [requests=50000] [top=30]
 */
import { Session } from 'node:inspector/promises';
import { closedLoop } from './drivers.js';
import { inProcessContext } from './in-process.js';
import { findVariant } from './variants.js';

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
}

async function main(): Promise<void> {
  const id = process.argv[2] ?? 'mesh-request-full';
  const durationMs = Number(process.argv[3] ?? '3000');
  const top = Number(process.argv[4] ?? '30');
  const variant = findVariant(id);
  const built = await variant.build(inProcessContext());
  if ('unavailable' in built) throw new Error(built.unavailable);
  await closedLoop(built, 32, 1000);
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  const r = await closedLoop(built, 32, durationMs);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: Node } };
  await built.close();
  const self = new Map<string, number>();
  let total = 0;
  const walk = (n: Node): void => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|src|test)\//, '$1/')}:${f.lineNumber + 1}`;
    total += n.selfSize;
    if (n.selfSize) self.set(name, (self.get(name) ?? 0) + n.selfSize);
    n.children.forEach(walk);
  };
  walk(profile.head);
  console.log(`${id}: ${r.requests} requests, ${Math.round(total / r.requests)} B sampled per request`);
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${String(Math.round(bytes / r.requests)).padStart(6)} B  ${name}`);
  }
}

void main();
