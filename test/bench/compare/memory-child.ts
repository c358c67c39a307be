/**
 * Memory measurements, run by main.ts in a child `node --expose-gc` so
 * nothing else shares the heap.
 *
 *   memory-child.ts endpoints 1,100,10000
 *     heap retained by a MeshClient with N static endpoints, after GC
 *     (pools are created lazily, so this is the mesh's own state per endpoint).
 *   memory-child.ts leak <ports csv> <requests> <concurrency>
 *     heap after GC at 10 checkpoints while sending <requests> requests to
 *     the target's `flaky` profile (30% failures), through the full stack if
 *     this build has it, else balancing only.
 *
 * Prints one JSON line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MeshClient } from './proxyless.js';
import { median } from './stats.js';
import { VARIANTS, meshOptions, type Runner, type VariantContext } from './variants.js';

const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<number> {
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(10);
  }
  return process.memoryUsage().heapUsed;
}

function endpointUrls(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`);
}

async function endpoints(counts: number[]): Promise<unknown> {
  const results: { endpoints: number; heapBytes: number; perEndpointBytes: number }[] = [];
  // Warm up module-level state (balancer registry, regexes) so it is not charged to the first count.
  await new MeshClient({ services: { warm: { endpoints: endpointUrls(2) } } }).close();
  for (const n of counts) {
    const ctx: VariantContext = { origins: endpointUrls(n), path: '/', connections: 64, proxies: { haproxy: { unavailable: '' }, nginx: { unavailable: '' } } };
    const options = meshOptions(ctx, {});
    // Three measurements, the median kept: one GC'd heap reading moves by a few KiB on its own.
    const deltas: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = await settle();
      let mesh: MeshClient | undefined = new MeshClient(options);
      const after = await settle();
      deltas.push(after - before);
      await mesh.close();
      mesh = undefined;
    }
    const heapBytes = median(deltas);
    results.push({ endpoints: n, heapBytes, perEndpointBytes: heapBytes / n });
  }
  return { mode: 'endpoints', results };
}

async function leak(ports: number[], requests: number, concurrency: number): Promise<unknown> {
  const ctx: VariantContext = {
    origins: ports.map((p) => `http://127.0.0.1:${p}`),
    path: '/',
    connections: Math.max(1, Math.ceil(concurrency / ports.length)),
    proxies: { haproxy: { unavailable: '' }, nginx: { unavailable: '' } },
  };
  let runner: Runner | undefined;
  let variant = '';
  for (const id of ['mesh-request-full', 'mesh-request-balancing']) {
    const built = await VARIANTS.find((v) => v.id === id)!.build(ctx);
    if (!('unavailable' in built)) {
      runner = built;
      variant = id;
      break;
    }
  }
  if (!runner) throw new Error('no mesh variant could be built');
  // Keeps the process alive while requests wait on timers only: proxyless's timers are unref'd, and with
  // every socket idle a request in retry backoff would otherwise let Node exit mid-run (exit code 0).
  const keepAlive = setInterval(() => {}, 1000);
  const checkpoints = 10;
  const perBatch = Math.ceil(requests / checkpoints);
  const samples: { requests: number; heapBytes: number }[] = [];
  let sent = 0;
  let errors = 0;
  let serverErrors = 0;
  let ok = 0;
  const r = runner;
  samples.push({ requests: 0, heapBytes: await settle() });
  for (let c = 0; c < checkpoints; c++) {
    const target = Math.min(requests, sent + perBatch);
    const caller = async () => {
      while (sent < target) {
        sent++;
        try {
          const status = await r.send();
          if (status >= 500) serverErrors++;
          else ok++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, caller));
    samples.push({ requests: sent, heapBytes: await settle() });
  }
  await runner.close();
  clearInterval(keepAlive);
  return { mode: 'leak', variant, requests: sent, ok, serverErrors, errors, samples };
}

async function main(): Promise<void> {
  const [mode, a, b, c] = process.argv.slice(2);
  let out: unknown;
  if (mode === 'endpoints') out = await endpoints((a ?? '1,100,10000').split(',').map(Number));
  else if (mode === 'leak') out = await leak((a ?? '').split(',').map(Number), Number(b ?? '10000'), Number(c ?? '32'));
  else throw new Error(`unknown mode ${String(mode)}`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
