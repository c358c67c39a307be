// docs/discovery/writing-a-provider.md, run as written: the polling registry provider, and its
// registration as a provider type that config files can name, against a loopback registry.
// The page marks both blocks `<!-- snippet: in: examples/custom-provider.ts -->`.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshClient, type DiscoveryProvider } from 'proxyless';
import { request } from 'undici';

function registryDiscovery(base: string, everyMs = 5_000): DiscoveryProvider {
  const stops = new Set<() => void>();
  return {
    source: `registry:${base}`,
    watch(service, listener, env) {
      let timer: unknown;
      let stopped = false;
      const poll = async () => {
        try {
          const res = await request(`${base}/services/${service}`);
          if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
          const instances = (await res.body.json()) as { id: string; host: string; port: number }[];
          // Entries with a key: a rejected one is named in the event.
          listener.update(instances.map((i) => ({ key: i.id, endpoint: { address: i.host, port: i.port } })));
        } catch (error) {
          listener.error(error as Error);   // the mesh keeps the last good set
        }
        if (!stopped) timer = env.clock.setTimeout(poll, everyMs);
      };
      void poll();
      const stop = () => { stopped = true; env.clock.clearTimeout(timer); };
      stops.add(stop);
      return () => { stop(); stops.delete(stop); };
    },
    close() { for (const stop of stops) stop(); stops.clear(); },
  };
}

const mesh = new MeshClient({ discovery: registryDiscovery('http://registry:8500'), services: { orders: {} } });
await mesh.close(); // registry:8500 does not exist here: the loopback registry below does

import { Type } from '@sinclair/typebox';
import { registerDiscoveryProvider } from 'proxyless';

registerDiscoveryProvider('registry', {
  options: Type.Object(
    {
      url: Type.String({ pattern: '^https?://', description: 'The registry base URL.' }),
      everyMs: Type.Optional(Type.Integer({ minimum: 100, default: 5_000, description: 'Poll interval, ms.' })),
    },
    { additionalProperties: false },
  ),
  create: (o) => registryDiscovery(o.url as string, o.everyMs as number),
});
// { "discovery": { "type": "registry", "url": "http://registry:8500" } }

// A loopback registry with one "orders" instance, itself a loopback server.
const orders = createServer((_req, res) => res.end('order 42'));
await new Promise<void>((r) => orders.listen(0, '127.0.0.1', r));
const registry = createServer((req, res) => {
  if (req.url !== '/services/orders') return void res.writeHead(404).end();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify([{ id: 'orders-1', host: '127.0.0.1', port: (orders.address() as AddressInfo).port }]));
});
await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));

// A config that names the registered type, as a config file would.
const fromConfig = new MeshClient({
  discovery: { type: 'registry', url: `http://127.0.0.1:${(registry.address() as AddressInfo).port}` },
  services: { orders: {} },
});
assert.equal(await fromConfig.ready({ timeoutMs: 2_000 }), true);
const res = await fromConfig.request('http://orders/orders/42');
assert.equal(await res.body.text(), 'order 42');
console.log('registry provider, named by a config spec:', fromConfig.snapshot().services.orders?.discovery?.active);
// An invalid spec is refused by the type's options schema, with the path of the bad field.
assert.throws(
  () => new MeshClient({ discovery: { type: 'registry', url: 8500 }, services: { orders: {} } }),
  (e: { issues?: { path: string }[] }) => e.issues?.some((i) => i.path === 'discovery.url') === true,
);
await fromConfig.close();
orders.close();
registry.close();
