// Canary release: 90/10 split between v1 and v2 by endpoint labels, a header
// that pins testers to v2, then the canary is promoted to 50% live with updateConfig.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient, type MeshConfig } from 'proxyless';

function listen(version: string): Promise<Server> {
  const server = createServer((_req, res) => res.end(version));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

const [v1a, v1b, v2] = await Promise.all([listen('v1'), listen('v1'), listen('v2')]);
const config = (canaryPercent: number): MeshConfig => ({
  services: {
    checkout: {
      endpoints: [
        { url: urlOf(v1a), labels: { version: 'v1' } },
        { url: urlOf(v1b), labels: { version: 'v1' } },
        { url: urlOf(v2), labels: { version: 'v2' } },
      ],
      routes: [
        // Testers opt in with a header.
        { name: 'testers', match: { headers: { 'x-canary': 'yes' } }, split: [{ subset: { version: 'v2' }, weight: 1 }] },
        // Everyone else: a weighted split.
        {
          name: 'release',
          split: [
            { subset: { version: 'v1' }, weight: 100 - canaryPercent },
            { subset: { version: 'v2' }, weight: canaryPercent },
          ],
        },
      ],
    },
  },
});

const mesh = new MeshClient(config(10));

async function tally(n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await mesh.request('http://checkout/cart', { headers });
    const version = await res.body.text();
    counts[version] = (counts[version] ?? 0) + 1;
  }
  return counts;
}

console.log('10% canary, 2,000 requests:', await tally(2000));
console.log('tester header, 20 requests: ', await tally(20, { 'x-canary': 'yes' }));
await mesh.updateConfig(config(50));
console.log('promoted to 50%, version', mesh.snapshot().version, ':', await tally(2000));
await mesh.close();
for (const s of [v1a, v1b, v2]) s.close();
