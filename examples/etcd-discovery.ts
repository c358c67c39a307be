// etcd: instances register themselves under a lease (with heartbeats); a client
// discovers them through a watch. Shows a join, a graceful leave (close) and the
// client's view. Starts its own etcd on loopback (CI installs etcd-server with
// .ci/install-integration-deps.sh).
import { createServer, type Server } from 'node:http';
import { MeshClient } from 'proxyless';
import { etcdDiscovery, registerWithEtcd } from 'proxyless/etcd';
import { findBinary, startEtcd } from './support/engines.js';

const bin = findBinary('etcd');
if (!bin) {
  console.log('SKIPPED: etcd is not installed (run .ci/install-integration-deps.sh to install etcd-server).');
  // CI installs the engines first: a missing engine there is a failure, not a skip.
  process.exit(process.env.CI ? 1 : 0);
}
const etcd = await startEtcd(bin);
console.log(`etcd running at ${etcd.url}`);

async function instance(name: string): Promise<{ server: Server; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  // What each instance of the service does at startup:
  const registration = await registerWithEtcd({
    endpoints: [etcd.url],
    service: 'orders',
    id: name,
    endpoint: { address: '127.0.0.1', port, labels: { instance: name } },
    ttlSeconds: 5,
  });
  console.log(`${name} registered as ${registration.key}`);
  return {
    server,
    async close() {
      await registration.close(); // deregister first, then stop serving
      await new Promise((r) => server.close(r));
    },
  };
}

const a = await instance('orders-a');
const mesh = new MeshClient({ discovery: etcdDiscovery({ endpoints: [etcd.url] }), services: { orders: {} } });
mesh.on('health', (e) => console.log(`  [health] ${e.type} ${e.endpoint ?? ''}`));
const count = async (n: number): Promise<void> => {
  while (mesh.snapshot().services.orders!.endpoints.length !== n) await new Promise((r) => setTimeout(r, 10));
};
const spread = async (label: string): Promise<void> => {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 6; i++) {
    const body = await (await mesh.request('http://orders/')).body.text();
    counts[body] = (counts[body] ?? 0) + 1;
  }
  console.log(`${label}:`, counts);
};

await mesh.ready(); // the first etcd read
await spread('one instance');
console.log('orders-b joins:');
const b = await instance('orders-b');
await count(2);
await spread('two instances');
console.log('orders-a leaves gracefully:');
await a.close();
await count(1);
await spread('after the leave');
console.log('discovery state:', JSON.stringify(mesh.snapshot().services.orders!.discovery));

await mesh.close();
await b.close();
await etcd.stop();
