import { EndpointState } from '../../src/client/endpoint-state.js';
import { ServiceRuntime } from '../../src/client/service-runtime.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { MeshConfig } from '../../src/index.js';
import type { PickRequest } from '../../src/balancing/balancer.js';

/** Builds the runtime of one service from a config, as the client would, for decision-level tests. */
export function runtimeOf(
  config: MeshConfig,
  service: string,
  random: () => number,
): { runtime: ServiceRuntime; byUrl: Map<string, EndpointState>; panics: string[] } {
  const resolved = resolveConfig(config);
  const services = new Map<string, ServiceRuntime>();
  const panics: string[] = [];
  let target: ServiceRuntime | undefined;
  const byUrl = new Map<string, EndpointState>();
  for (const [name, svc] of resolved.services) {
    const states = svc.endpoints.map((e) => new EndpointState(e, svc.connection));
    if (name === service) for (const s of states) byUrl.set(s.url, s);
    const runtime = new ServiceRuntime(svc, states, {
      random,
      now: () => 0,
      lookup: (n) => services.get(n),
      onPanic: (_s, d, entering) => panics.push(`${entering ? 'enter' : 'leave'} ${d}`),
    });
    services.set(name, runtime);
    if (name === service) target = runtime;
  }
  if (!target) throw new Error(`no service ${service}`);
  return { runtime: target, byUrl, panics };
}

/** A request as balancers and routes see it. */
export function pickRequest(path = '/', method = 'GET', headers: Record<string, string> = {}): PickRequest {
  return { method, path, header: (name) => headers[name] };
}

/** Counts which endpoint URL `n` picks land on. */
export function countPicks(runtime: ServiceRuntime, n: number, request = pickRequest()): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const d = runtime.destination(request);
    const e = d?.picker.pick({ request, tried: undefined });
    const key = e?.url ?? 'none';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
