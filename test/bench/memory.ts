/**
 * Heap measurements, run by suite.ts in a child `node --expose-gc` so nothing else shares the heap. Prints one JSON line.
 *
 *   memory.ts endpoints 1,100,10000   heap a MeshClient retains per static endpoint, after GC (pools are made lazily)
 *   memory.ts leak <ports> <requests> heap after GC at 10 checkpoints while 32 callers send <requests> requests
 *                                      through the full stack to the target's `flaky` profile (30% failures)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { median } from './stats.js';
import { fullStack, loadBuild } from './variants.js';

const gc = (globalThis as { gc?: () => void }).gc!;

async function heap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(10);
  }
  return process.memoryUsage().heapUsed;
}

const { build } = await loadBuild();
const [mode, a = '', b = '0'] = process.argv.slice(2);
let out: unknown;
if (mode === 'endpoints') {
  const urls = (n: number) => Array.from({ length: n }, (_, i) => `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`);
  // Module-level state (the balancer registry, compiled schemas) is not charged to the first count.
  await new build.MeshClient({ services: { warm: { endpoints: urls(2) } } }).close();
  out = [];
  for (const n of a.split(',').map(Number)) {
    // The median of three: one reading of a collected heap moves by a few KiB on its own.
    const deltas: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = await heap();
      const mesh = new build.MeshClient({ services: { target: { endpoints: urls(n), loadBalancer: 'round-robin' } } });
      deltas.push((await heap()) - before);
      await mesh.close();
    }
    (out as unknown[]).push({ endpoints: n, perEndpointBytes: median(deltas) / n });
  }
} else if (mode === 'leak') {
  const origins = a.split(',').map((p) => `http://127.0.0.1:${p}`);
  const runner = fullStack(build, { origins, connections: 8, hops: {}, build });
  // proxyless's timers are unref'd: with every socket idle, a request waiting out a retry backoff would let Node exit.
  const hold = setInterval(() => {}, 1000);
  const total = Number(b);
  const samples: [number, number][] = [[0, await heap()]];
  let sent = 0;
  let errors = 0;
  for (let c = 1; c <= 10; c++) {
    const until = Math.round((total * c) / 10);
    const caller = async () => {
      while (sent < until) {
        sent++;
        await runner.send().catch(() => errors++);
      }
    };
    await Promise.all(Array.from({ length: 32 }, caller));
    samples.push([sent, await heap()]);
  }
  await runner.close();
  clearInterval(hold);
  out = { errors, samples };
} else throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(out)}\n`);
