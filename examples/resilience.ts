// Resilience in action: an endpoint starts failing, outlier detection ejects it;
// another dies, its circuit breaker opens; callers see no errors (retries go to
// healthy endpoints); both come back and traffic returns to them.
//
// Run: npm run build && npx tsx examples/resilience.ts
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MeshClient, type HealthEvent } from 'proxyless';

interface Backend {
  name: string;
  port: number;
  failing: boolean;
  server: Server | undefined;
  sockets: Set<Socket>;
}

async function listen(b: Backend): Promise<void> {
  const server = createServer((_req, res) => {
    res.statusCode = b.failing ? 500 : 200;
    res.end(b.name);
  });
  server.on('connection', (s) => {
    b.sockets.add(s);
    s.on('close', () => b.sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(b.port, '127.0.0.1', resolve));
  b.port = (server.address() as AddressInfo).port;
  b.server = server;
}

async function kill(b: Backend): Promise<void> {
  const server = b.server;
  b.server = undefined;
  for (const s of b.sockets) s.destroy();
  await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
}

const backends: Backend[] = ['a', 'b', 'c'].map((name) => ({ name, port: 0, failing: false, server: undefined, sockets: new Set() }));
for (const b of backends) await listen(b);
const nameOf = (url: string | undefined): string => backends.find((b) => url?.endsWith(`:${b.port}`))?.name ?? String(url);

const mesh = new MeshClient({
  services: {
    shop: {
      endpoints: backends.map((b) => `http://127.0.0.1:${b.port}`),
      retry: { attempts: 3 },
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 1_000 },
      outlierDetection: { consecutive5xx: 3, baseEjectionTimeMs: 1_500, maxEjectionPercent: 50 },
      // With 3 endpoints, one ejected and one broken leave 33% usable: keep balancing over
      // those (the default 50% would "panic" and balance over all three again, as Envoy does).
      panicThreshold: 30,
    },
  },
});
mesh.on('health', (e: HealthEvent) => {
  if (e.type === 'endpoint-added') return;
  console.log(`  [health] ${e.type}${e.endpoint ? ` ${nameOf(e.endpoint)}` : ''}${e.reason ? ` (${e.reason})` : ''}`);
});
let retries = 0;
mesh.on('metric', (e) => {
  if (e.type === 'retry') retries++;
});

async function traffic(label: string, n = 30): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  let errors = 0;
  for (let i = 0; i < n; i++) {
    try {
      const res = await mesh.request('http://shop/cart');
      const key = `${await res.body.text()}:${res.statusCode}`;
      seen[key] = (seen[key] ?? 0) + 1;
    } catch {
      errors++;
    }
  }
  console.log(`${label}: ${JSON.stringify(seen)} errors=${errors} retries so far=${retries}`);
  return seen;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

await traffic('1. all healthy');

console.log('2. "c" starts answering 500');
backends[2]!.failing = true;
await traffic('   traffic');
const afterEjection = await traffic('   after ejection');

console.log('3. "b" dies (connection refused)');
await kill(backends[1]!);
const afterBreak = await traffic('   traffic');

console.log('4. both recover; waiting for the half-open probe and the end of the ejection');
backends[2]!.failing = false;
await listen(backends[1]!);
await sleep(1_600);
const recovered = await traffic('   traffic');

const snap = mesh.snapshot().services.shop!;
console.log(
  'snapshot:',
  JSON.stringify({ usable: snap.usableEndpoints, resilience: snap.resilience, endpoints: snap.endpoints.map((e) => ({ name: nameOf(e.url as string), circuit: e.circuit, outlier: e.outlier })) }),
);

await mesh.close();
for (const b of backends) await kill(b);

const ok =
  afterEjection['c:500'] === undefined &&
  afterBreak['b:200'] === undefined &&
  Object.keys(afterBreak).every((k) => k.endsWith(':200')) &&
  recovered['b:200'] !== undefined &&
  recovered['c:200'] !== undefined;
console.log(ok ? 'traffic moved away from the failing endpoints and came back' : 'UNEXPECTED RESULT');
process.exit(ok ? 0 : 1);
