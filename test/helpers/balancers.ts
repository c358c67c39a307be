import type { BalancerEndpoint, LoadBalancer, PickContext, PickRequest } from '../../src/index.js';

/** A balancer endpoint for unit tests: `inflight` and `weight` are writable. */
export interface FakeEndpoint extends BalancerEndpoint {
  inflight: number;
  weight: number;
}

/** `weights.length` endpoints with those weights and distinct URLs. */
export function fakeEndpoints(weights: readonly number[], prefix = 'http://10.0.0.'): FakeEndpoint[] {
  return weights.map((weight, i) => ({
    url: `${prefix}${i}:8080`,
    protocol: 'http:' as const,
    host: `10.0.0.${i}`,
    port: 8080,
    weight,
    zone: undefined,
    priority: 0,
    labels: {},
    inflight: 0,
  }));
}

/** `n` endpoints of weight 1, spread over a /16 so URLs look like a real fleet. */
export function fleet(n: number): FakeEndpoint[] {
  return fakeEndpoints(new Array<number>(n).fill(1)).map((e, i) => ({
    ...e,
    url: `http://10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}:${8000 + (i % 1000)}`,
  }));
}

/** A PickRequest with the given path and headers (names lower-case). */
export function pickRequest(path = '/', headers: Record<string, string> = {}, method = 'GET'): PickRequest {
  return { method, path, header: (name) => headers[name] };
}

/** A pick context without tried endpoints. */
export function context(request: PickRequest = pickRequest(), tried?: ReadonlySet<BalancerEndpoint>): PickContext {
  return { request, tried };
}

/** Picks `n` times and counts picks per endpoint (in list order). */
export function countPicks(
  balancer: LoadBalancer,
  endpoints: readonly BalancerEndpoint[],
  n: number,
  ctx: PickContext = context(),
): number[] {
  const index = new Map(endpoints.map((e, i) => [e, i] as const));
  const counts = new Array<number>(endpoints.length).fill(0);
  for (let i = 0; i < n; i++) {
    const picked = balancer.pick(ctx);
    if (picked === undefined) throw new Error('balancer picked nothing');
    counts[index.get(picked)!]!++;
  }
  return counts;
}
