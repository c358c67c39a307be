// DNS SRV discovery against a real dnsmasq started on a loopback port:
// each SRV record gives a target, a port, a weight and a priority.
// Needs dnsmasq (CI installs it with .ci/install-integration-deps.sh).
import { createServer, type Server } from 'node:http';
import { MeshClient, dnsDiscovery } from 'proxyless';
import { findBinary, startDnsmasq } from './support/engines.js';

const bin = findBinary('dnsmasq');
if (!bin) {
  console.log('SKIPPED: dnsmasq is not installed (run .ci/install-integration-deps.sh to install it).');
  // CI installs the engines first: a missing engine there is a failure, not a skip.
  process.exit(process.env.CI ? 1 : 0);
}

async function serve(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

const [primary1, primary2, standby] = await Promise.all([serve('primary-1'), serve('primary-2'), serve('standby')]);
const dns = await startDnsmasq(
  bin,
  ['127.0.0.1 node1.example.test', '127.0.0.1 node2.example.test'],
  [
    // name, target, port, priority, weight
    `_http._tcp.orders.example.test,node1.example.test,${primary1.port},0,30`,
    `_http._tcp.orders.example.test,node2.example.test,${primary2.port},0,10`,
    `_http._tcp.orders.example.test,node2.example.test,${standby.port},1,10`,
  ],
);
console.log(`dnsmasq answering on ${dns.server}`);

const mesh = new MeshClient({
  services: {
    orders: {
      discovery: dnsDiscovery({ type: 'SRV', hostname: '_http._tcp.orders.example.test', servers: [dns.server], srvRefreshMs: 10_000 }),
    },
  },
});
mesh.on('health', (e) => console.log(`  [health] ${e.type} ${e.endpoint ?? ''}`));

// The first answer arrives asynchronously: wait for every provider to answer once.
console.log('ready:', await mesh.ready());
console.log('endpoints from SRV (url, weight, priority):');
for (const e of mesh.snapshot().services.orders!.endpoints) console.log(`  ${e.url}  weight ${e.weight}  priority ${e.priority}`);

const counts: Record<string, number> = {};
for (let i = 0; i < 9; i++) {
  const body = await (await mesh.request('http://orders/')).body.text();
  counts[body] = (counts[body] ?? 0) + 1;
}
console.log('9 requests ->', counts, '(how weight and priority shape traffic is the balancer\'s job)');

await mesh.close();
await dns.stop();
await Promise.all([primary1, primary2, standby].map((s) => new Promise((r) => s.server.close(r))));
