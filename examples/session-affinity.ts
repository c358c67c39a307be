// Session affinity: Maglev consistent hashing on the x-user header. Every
// user always reaches the same server; when a server leaves, only its users
// move, and the others keep their server (and its warm cache).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient, type MeshConfig } from 'proxyless';

function listen(name: string): Promise<Server> {
  const server = createServer((_req, res) => res.end(name));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

const names = ['cache-a', 'cache-b', 'cache-c', 'cache-d'];
const servers = await Promise.all(names.map(listen));
const config = (members: Server[]): MeshConfig => ({
  services: {
    profiles: {
      endpoints: members.map(urlOf),
      loadBalancer: { policy: 'maglev', hashOn: { header: 'x-user' } },
    },
  },
});
const mesh = new MeshClient(config(servers));

const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
async function serverOf(user: string): Promise<string> {
  const res = await mesh.request('http://profiles/me', { headers: { 'x-user': user } });
  return res.body.text();
}

const before = new Map<string, string>();
for (const user of users) {
  const seen = new Set<string>();
  for (let i = 0; i < 5; i++) seen.add(await serverOf(user));
  if (seen.size !== 1) throw new Error(`${user} reached ${[...seen].join(', ')}: affinity broken`);
  before.set(user, [...seen][0]!);
  console.log(`${user.padEnd(6)} -> ${before.get(user)} (5 of 5 requests)`);
}

// cache-b leaves: only its users move.
await mesh.updateConfig(config(servers.filter((_, i) => names[i] !== 'cache-b')));
console.log('\ncache-b removed:');
let moved = 0;
for (const user of users) {
  const now = await serverOf(user);
  const was = before.get(user)!;
  if (now !== was) moved++;
  if (now !== was && was !== 'cache-b') throw new Error(`${user} moved from ${was} though it stayed`);
  console.log(`${user.padEnd(6)} -> ${now}${now === was ? '' : ` (moved from ${was})`}`);
}
console.log(`\n${moved} of ${users.length} users moved, all of them from cache-b`);

await mesh.close();
await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
