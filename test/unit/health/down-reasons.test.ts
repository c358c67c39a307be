import { describe, expect, it } from 'vitest';
import { EndpointState } from '../../../src/client/endpoint-state.js';
import { ServiceRuntime, createBalancer } from '../../../src/client/service-runtime.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { buildHealthReport } from '../../../src/health/report.js';

function runtime(urls: string[], panicThreshold = 50) {
  const config = resolveConfig({ services: { orders: { endpoints: urls, panicThreshold } } });
  const svc = config.services.get('orders')!;
  const states = svc.endpoints.map((e) => new EndpointState(e, svc.connection));
  const updates: string[][] = [];
  const inner = createBalancer(svc.loadBalancer, { service: 'orders', random: () => 0, now: () => 0 });
  const balancer = { ...inner, update: (list: readonly EndpointState[]) => { updates.push(list.map((e) => e.url)); inner.update(list); } };
  const rt = new ServiceRuntime(svc, states, balancer as never);
  for (const s of states) s.onDownChange = () => rt.refresh();
  return { rt, states, updates };
}

describe('down reasons (the plug-in point for health, ejection and breakers)', () => {
  const urls = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080', 'http://10.0.0.4:8080'];

  it('recomputes usable from every reason and only hands changes to the balancer', () => {
    const { rt, states, updates } = runtime(urls);
    expect(states[0]!.setDown('ejected', true)).toBe(true);
    expect(states[0]!.setDown('ejected', true)).toBe(false); // no change, no update
    states[0]!.setDown('unhealthy', true);
    states[0]!.setDown('ejected', false); // still unhealthy: same usable list
    expect(rt.usable.map((e) => e.url)).toEqual(urls.slice(1));
    states[0]!.setDown('unhealthy', false);
    expect(updates).toEqual([urls, urls.slice(1), urls]);
    expect(rt.panic).toBe(false);
  });

  it('uses all endpoints below the panic threshold, and never none', () => {
    const { rt, states } = runtime(urls);
    states[0]!.setDown('circuit-open', true);
    states[1]!.setDown('ejected', true);
    expect([rt.usable.length, rt.panic]).toEqual([2, false]); // exactly 50%: not panic
    states[2]!.setDown('unhealthy', true);
    expect([rt.usable.length, rt.panic]).toEqual([4, true]);
    const none = runtime(urls, 0);
    for (const s of none.states) s.setDown('unhealthy', true);
    expect([none.rt.usable.length, none.rt.panic]).toEqual([4, true]);
    none.states[3]!.setDown('unhealthy', false);
    expect([none.rt.usable.map((e) => e.url), none.rt.panic]).toEqual([[urls[3]], false]);
  });

  it('reports each down endpoint with all its reasons', () => {
    const { rt, states } = runtime(urls);
    states[1]!.setDown('ejected', true);
    states[1]!.setDown('circuit-open', true);
    states[2]!.setDown('draining', true);
    const report = buildHealthReport(new Map([['orders', rt]]), () => undefined, new Map());
    expect(report).toEqual({
      healthy: true,
      services: {
        orders: {
          endpoints: 4,
          usable: 2,
          panic: false,
          down: [
            { endpoint: urls[1], reasons: ['ejected', 'circuit-open'] },
            { endpoint: urls[2], reasons: ['draining'] },
          ],
        },
      },
    });
  });
});
