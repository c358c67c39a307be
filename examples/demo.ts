// npm run demo: local services on loopback, traffic through a MeshClient,
// failures injected, and a live per-endpoint summary.
//   npm run demo            ~15 s, redraws in place on a terminal
//   npm run demo -- --ci    ~5 s, plain lines (what CI runs)
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshClient, fileDiscovery, isMeshError, type HealthEvent } from 'proxyless';

const ci = process.argv.includes('--ci') || !process.stdout.isTTY;
const DURATION_MS = process.argv.includes('--ci') ? 5_000 : 15_000;
const WORKERS = 8;

// ---- local services -------------------------------------------------------
interface Instance {
  name: string;
  port: number;
  server: Server | undefined;
  sockets: Set<Socket>;
}

function start(instance: Instance, latencyMs: () => number): Promise<void> {
  const server = createServer((req, res) => {
    setTimeout(() => res.end(`${instance.name} ${req.url}`), latencyMs());
  });
  server.on('connection', (s) => {
    instance.sockets.add(s);
    s.on('close', () => instance.sockets.delete(s));
  });
  instance.server = server;
  return new Promise((resolve) =>
    server.listen(instance.port, '127.0.0.1', () => {
      instance.port = (server.address() as AddressInfo).port;
      resolve();
    }),
  );
}

function stop(instance: Instance): void {
  instance.server?.close();
  for (const s of instance.sockets) s.destroy();
  instance.server = undefined;
}

const jitter = (base: number) => () => base + Math.random() * base;
const instances: Instance[] = ['orders-1', 'orders-2', 'orders-3', 'orders-v2', 'orders-4'].map((name) => ({
  name,
  port: 0,
  server: undefined,
  sockets: new Set(),
}));
await Promise.all(instances.map((i) => start(i, jitter(3))));

// ---- the mesh ---------------------------------------------------------------
// Endpoints come from a watched file (discovery): orders-1..3 run v1; orders-v2 is a canary that
// gets 10% of traffic. orders-4 joins later and orders-1 leaves, by rewriting the file.
const dir = mkdtempSync(join(tmpdir(), 'proxyless-demo-'));
const file = join(dir, 'endpoints.json');
function publish(names: string[]): void {
  const entries = instances
    .filter((i) => names.includes(i.name))
    .map((i) => ({ url: `http://127.0.0.1:${i.port}`, labels: { version: i.name.endsWith('v2') ? 'v2' : 'v1' } }));
  writeFileSync(`${file}.tmp`, JSON.stringify({ orders: entries }));
  renameSync(`${file}.tmp`, file); // atomic: the mesh never sees a half-written file
}
let members = ['orders-1', 'orders-2', 'orders-3', 'orders-v2'];
publish(members);

const mesh = new MeshClient({
  discovery: fileDiscovery(file, { debounceMs: 50 }),
  services: {
    orders: {
      loadBalancer: 'least-request',
      routes: [
        {
          name: 'canary',
          split: [
            { subset: { version: 'v1' }, weight: 90 },
            { subset: { version: 'v2' }, weight: 10 },
          ],
        },
      ],
      // Tuned so a short demo shows recovery: real services keep the defaults (30 s ejection).
      retry: { attempts: 3 },
      circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: Math.round(DURATION_MS / 10) },
      outlierDetection: { baseEjectionTimeMs: Math.round(DURATION_MS / 6) },
      slowStart: { windowMs: Math.round(DURATION_MS / 5) },
    },
  },
});
await mesh.ready({ timeoutMs: 5_000 });

interface Stats {
  attempts: number;
  ok: number;
  failed: number;
  latencies: number[];
}
const perEndpoint = new Map<string, Stats>();
const totals = { requests: 0, ok: 0, failed: 0, errors: new Map<string, number>() };
const log: string[] = [];
const t0 = Date.now();
const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string) => {
  log.push(`${stamp()}  ${line}`);
  if (log.length > 6) log.shift();
  if (ci) console.log(`${stamp()}  ${line}`);
};

mesh.on('metric', (e) => {
  if (e.type === 'attempt') {
    const s = perEndpoint.get(e.endpoint) ?? { attempts: 0, ok: 0, failed: 0, latencies: [] };
    perEndpoint.set(e.endpoint, s);
    s.attempts++;
    if (e.error === undefined && (e.status ?? 0) < 500) s.ok++;
    else s.failed++;
    s.latencies.push(e.durationMs);
    if (s.latencies.length > 500) s.latencies.shift();
  }
});
const nameOf = (url: string | undefined) => instances.find((i) => url === `http://127.0.0.1:${i.port}`)?.name ?? url ?? '';
mesh.on('health', (e: HealthEvent) => say(`health: ${e.type} ${nameOf(e.endpoint)} ${e.reason ?? ''}`.trim()));
mesh.on('metric', (e) => {
  if (e.type === 'retry') retries++;
});
let retries = 0;

// ---- load ---------------------------------------------------------------------
let running = true;
async function worker(id: number): Promise<void> {
  let n = 0;
  while (running) {
    totals.requests++;
    try {
      const res = await mesh.request(`http://orders/orders/${id}-${n++}`);
      await res.body.dump();
      if (res.statusCode < 500) totals.ok++;
      else totals.failed++;
    } catch (error) {
      totals.failed++;
      const code = isMeshError(error) ? error.code : String(error);
      totals.errors.set(code, (totals.errors.get(code) ?? 0) + 1);
    }
  }
}

// ---- the live summary -----------------------------------------------------------
function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function render(): string {
  const lines: string[] = [];
  lines.push(`proxyless demo  ${stamp()}  ${WORKERS} callers -> http://orders/  (canary: 90% v1, 10% v2)`);
  lines.push('');
  lines.push('endpoint                    process  mesh view       attempts  share      ok  failed   p50 ms   p99 ms');
  const down = new Map(
    (mesh.health().services.orders?.down ?? []).map((d) => [d.endpoint, d.reasons.join('+')] as const),
  );
  const known = new Set((mesh.snapshot().services.orders?.endpoints ?? []).map((e) => e.url as string));
  const allAttempts = [...perEndpoint.values()].reduce((a, s) => a + s.attempts, 0) || 1;
  for (const inst of instances) {
    const url = `http://127.0.0.1:${inst.port}`;
    const s = perEndpoint.get(url) ?? { attempts: 0, ok: 0, failed: 0, latencies: [] };
    const state = inst.server ? 'up' : 'DOWN';
    const view = !known.has(url) ? 'not listed' : (down.get(url) ?? 'usable');
    lines.push(
      `${`${inst.name} (${inst.port})`.padEnd(27)} ${state.padEnd(8)} ${view.padEnd(15)} ${String(s.attempts).padStart(9)} ${`${((100 * s.attempts) / allAttempts).toFixed(1)}%`.padStart(6)} ${String(s.ok).padStart(7)} ${String(s.failed).padStart(7)} ${pct(s.latencies, 0.5).toFixed(1).padStart(8)} ${pct(s.latencies, 0.99).toFixed(1).padStart(8)}`,
    );
  }
  const rate = totals.requests === 0 ? 100 : (100 * totals.ok) / Math.max(1, totals.ok + totals.failed);
  lines.push('');
  lines.push(
    `requests ${totals.requests}   ok ${totals.ok}   failed ${totals.failed}   success ${rate.toFixed(2)}%   retries ${retries}`,
  );
  if (totals.errors.size > 0) lines.push(`errors seen by callers: ${[...totals.errors].map(([k, v]) => `${k} x${v}`).join(', ')}`);
  lines.push('');
  lines.push('events:');
  for (const l of log) lines.push(`  ${l}`);
  return lines.join('\n');
}

let timer: NodeJS.Timeout | undefined;
if (!ci) {
  process.stdout.write('\x1b[?25l');
  timer = setInterval(() => process.stdout.write(`\x1b[H\x1b[2J${render()}\n`), 250);
}

// ---- the script: failures injected ------------------------------------------------
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const workers = Array.from({ length: WORKERS }, (_, i) => worker(i));
say('traffic started');
await sleep(DURATION_MS * 0.2);
stop(instances[1]!);
say(`injected: ${instances[1]!.name} killed (connections refused)`);
await sleep(DURATION_MS * 0.25);
await start(instances[1]!, jitter(3));
say(`recovered: ${instances[1]!.name} restarted (the mesh lets it back after its ejection)`);
await sleep(DURATION_MS * 0.2);
members = [...members, 'orders-4'];
publish(members);
say('discovery: orders-4 joins (endpoints file rewritten; slow start ramps its weight)');
await sleep(DURATION_MS * 0.15);
members = members.filter((m) => m !== 'orders-1');
publish(members);
say('discovery: orders-1 leaves (its in-flight requests finish, then its pool closes)');
await sleep(DURATION_MS * 0.2);
running = false;
await Promise.all(workers);
if (timer) {
  clearInterval(timer);
  process.stdout.write('\x1b[?25h\x1b[H\x1b[2J');
}
console.log(render());
await mesh.close();
for (const inst of instances) stop(inst);
rmSync(dir, { recursive: true, force: true });
