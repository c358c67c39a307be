// HTTP client libraries through the mesh: ky, ofetch, axios, openai and
// graphql-request, each given mesh.fetch. docs/http-clients.md shows these
// snippets; test/unit/client/http-clients-docs.test.ts checks that every
// snippet of that page appears here as written.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { MeshClient, isMeshError } from 'proxyless';

// A loopback stand-in for the "api" service: JSON echo, a fake OpenAI chat endpoint, a GraphQL endpoint.
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v1/chat/completions') {
      const { model } = JSON.parse(body) as { model: string };
      res.end(JSON.stringify({ id: '1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'hello' } }] }));
    } else if (req.url === '/graphql') res.end(JSON.stringify({ data: { hello: 'world' } }));
    else res.end(JSON.stringify({ method: req.method, body }));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const mesh = new MeshClient({
  services: { api: { endpoints: [endpoint], retry: { attempts: 3 } } },
  egress: 'deny',
});

// ky
import ky from 'ky';
const api = ky.create({ prefixUrl: 'http://api', fetch: mesh.fetch });
const order = await api.put('orders/42', { json: { qty: 2 } }).json();

assert.deepEqual(order, { method: 'PUT', body: '{"qty":2}' });

// ofetch
import { createFetch } from 'ofetch';
const $api = createFetch({ fetch: mesh.fetch }).create({ baseURL: 'http://api' });
const created = await $api('/orders', { method: 'POST', body: { qty: 1 } });

assert.deepEqual(created, { method: 'POST', body: '{"qty":1}' });

// axios
import axios from 'axios';
const http = axios.create({ baseURL: 'http://api', adapter: 'fetch', env: { fetch: mesh.fetch } });
const { data } = await http.get('/orders/42');

assert.deepEqual(data, { method: 'GET', body: '' });

// openai
import OpenAI from 'openai';
const openai = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://api/v1', fetch: mesh.fetch });
const chat = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

assert.equal(chat.choices[0]?.message.content, 'hello');

// graphql-request
import { GraphQLClient } from 'graphql-request';
const graphql = new GraphQLClient('http://api/graphql', { fetch: mesh.fetch });
const result = await graphql.request<{ hello: string }>('{ hello }');

assert.deepEqual(result, { hello: 'world' });

// a refusal: what each client throws carries the MeshError (here ky rethrows it as it is)
const refused = await ky.get('http://unknown-host/', { fetch: mesh.fetch, retry: 0 }).then(() => undefined, (e: unknown) => e);
assert.ok(isMeshError(refused, 'MESH_UNKNOWN_SERVICE'));

// a client that closes the dispatcher it was given
const borrowed = mesh.borrowDispatcher();
await request('http://api/x', { dispatcher: borrowed }).then((r) => r.body.dump());
await borrowed.close(); // detaches the view only
assert.equal(mesh.closed, false);

console.log('ky, ofetch, axios, openai and graphql-request all went through the mesh');
await mesh.close();
server.close();
