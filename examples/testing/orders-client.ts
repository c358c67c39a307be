// The code under test: an application module that calls the orders service through the mesh.
import type { MeshClient } from 'proxyless';

/** An order as the orders service returns it. */
export interface Order {
  id: number;
  status: string;
}

/** Fetches one order; `undefined` when it does not exist. */
export async function getOrder(mesh: MeshClient, id: number): Promise<Order | undefined> {
  const res = await mesh.fetch(`http://orders/orders/${id}`, { headers: { accept: 'application/json' } });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`orders answered ${res.status}`);
  return (await res.json()) as Order;
}
