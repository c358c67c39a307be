/**
 * Where a variant allocates, per request: V8's sampling heap profiler with
 * collected objects included (so it counts allocation, not retention), over
 * the in-process transport. Prints bytes per request by allocating function.
 *
 *   npx tsx test/bench/compare/alloc.ts mesh-request-full [ms=3000] [top=30] [callers-of]
 *
 * With `SOCKETS=1` in the environment it runs over sockets against the
 * loopback target instead (the path users take; it includes undici's
 * socket and parser allocation).
 *
 * With a fourth argument (a substring of a function name, e.g. `nextTick`),
 * it also prints, for the functions matching it, bytes per request by the
 * chain of callers above them (three frames), to find who makes them allocate.
 */
import { Session } from 'node:inspector/promises';
import { closedLoop } from './drivers.js';
import { inProcessContext } from './in-process.js';
import { startTarget } from './proc.js';
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
  const callersOf = process.argv[5];
  const variant = findVariant(id);
  const target = process.env['SOCKETS'] === '1' ? await startTarget(4, false) : undefined;
  const { transport: _inProcess, ...overSockets } = inProcessContext();
  const context = target
    ? { ...overSockets, origins: target.ports.small.map((p) => `http://127.0.0.1:${p}`) }
    : inProcessContext();
  const built = await variant.build(context);
  if ('unavailable' in built) throw new Error(built.unavailable);
  await closedLoop(built, 32, 1000);
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    // LIVE=1: only what is still reachable when sampling stops (what the
    // client retains), instead of everything it allocated. PROMOTED=1:
    // what outlived a scavenge (young garbage left out), the allocation
    // that makes scavenges and mark-compacts expensive.
    includeObjectsCollectedByMajorGC: process.env['LIVE'] !== '1',
    includeObjectsCollectedByMinorGC: process.env['LIVE'] !== '1' && process.env['PROMOTED'] !== '1',
  } as never);
  const r = await closedLoop(built, 32, durationMs);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: Node } };
  await built.close();
  target?.child.kill('SIGTERM');
  const self = new Map<string, number>();
  const chains = new Map<string, number>();
  let total = 0;
  const nameOf = (f: Node['callFrame']): string =>
    `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|src|test)\//, '$1/')}:${f.lineNumber + 1}`;
  const walk = (n: Node, above: string[]): void => {
    const name = nameOf(n.callFrame);
    total += n.selfSize;
    if (n.selfSize) {
      self.set(name, (self.get(name) ?? 0) + n.selfSize);
      if (callersOf !== undefined && name.includes(callersOf)) {
        const chain = [name, ...above.slice(-3).reverse()].join(' <- ');
        chains.set(chain, (chains.get(chain) ?? 0) + n.selfSize);
      }
    }
    for (const c of n.children) walk(c, [...above, name]);
  };
  walk(profile.head, []);
  console.log(`${id}: ${r.requests} requests, ${Math.round(total / r.requests)} B sampled per request`);
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${String(Math.round(bytes / r.requests)).padStart(6)} B  ${name}`);
  }
  if (callersOf === undefined) return;
  console.log(`\ncallers of functions matching "${callersOf}":`);
  for (const [chain, bytes] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${String(Math.round(bytes / r.requests)).padStart(6)} B  ${chain}`);
  }
}

void main();
