// Compiled by test/unit/client/fetch-types.test.ts twice: without the DOM lib
// (Node's globals from @types/node) and with it. Every line must type-check.
import { fetch as undiciFetch, type Response as UndiciResponse } from 'undici';
import { MeshClient, type MeshFetch } from '../../../src/index.js';

const mesh = new MeshClient({});

// mesh.fetch is a fetch: assignable to the global fetch type, and usable unbound.
export const asGlobal: typeof globalThis.fetch = mesh.fetch;
export const options: { fetch?: typeof fetch } = { fetch: mesh.fetch };
export const alias: MeshFetch = mesh.fetch;
const { fetch: unbound } = mesh;

export async function calls(): Promise<void> {
  // with undici's types it answers undici's Response
  const a: UndiciResponse = await mesh.fetch('http://orders/x');
  // the global Request and RequestInit are accepted
  const b: Response = await unbound(new Request('http://orders/x'), { method: 'PUT', body: JSON.stringify({ a: 1 }) });
  const c = await mesh.fetch(new URL('http://orders/x'), { body: new URLSearchParams({ q: '1' }), method: 'POST' });
  void [a, b, c.status];
  // the dispatcher door with undici's fetch, as the README writes it
  await undiciFetch('http://orders/x', { dispatcher: mesh.dispatcher });
}
