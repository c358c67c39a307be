import { describe, expect, it } from 'vitest';
import { EndpointState } from '../../../src/client/endpoint-state.js';
import { ServiceRuntime } from '../../../src/client/service-runtime.js';
import { registerLoadBalancer, type BalancerEndpoint } from '../../../src/index.js';
import { RoundRobinBalancer } from '../../../src/balancing/round-robin.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { buildHealthReport } from '../../../src/health/report.js';

// A round robin that records every endpoint list it is handed.
let updates: string[][] = [];
registerLoadBalancer('recording-round-robin', {
  create: () => {
    const inner = new RoundRobinBalancer();
    return {
      update: (list: readonly BalancerEndpoint[]) => {
        updates.push(list.map((e) => e.url));
        inner.update(list);
      },
      pick: (context) => inner.pick(context),
    };
  },
});

function runtime(urls: string[], panicThreshold = 50) {
  const config = resolveConfig({
    services: { orders: { endpoints: urls, panicThreshold, loadBalancer: 'recording-round-robin' } },
  });
  const svc = config.services.get('orders')!;
  const states = svc.endpoints.map((e) => new EndpointState(e, svc.connection));
  updates = [];
  const panics: string[] = [];
  const rt = new ServiceRuntime(svc, states, {
    random: () => 0,
    now: () => 0,
    lookup: () => undefined,
    onPanic: (_s, _d, entering, { up, total }) => panics.push(`${entering ? 'enter' : 'leave'} ${up}/${total}`),
  });
  for (const s of states) s.onDownChange = () => rt.refresh();
  return { rt, states, updates: () => updates, panics };
}

/** What the balancer may pick from: every endpoint in panic, the usable ones otherwise. */
const pickable = (rt: ServiceRuntime) => rt.main.eligible;

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
    expect(updates()).toEqual([urls, urls.slice(1), urls]);
    expect(rt.panic).toBe(false);
  });

  it('uses all endpoints below the panic threshold (after overprovisioning), with the transitions reported', () => {
    const { rt, states, panics } = runtime(urls);
    states[0]!.setDown('circuit-open', true);
    states[1]!.setDown('ejected', true);
    expect([rt.usable.length, pickable(rt), rt.panic]).toEqual([2, 2, false]); // 1.4 x 50% = 70%: not panic
    states[2]!.setDown('unhealthy', true);
    // 1.4 x 25% = 35% < 50%: panic uses all endpoints but the one behind an open breaker (a connect would fail).
    expect([rt.usable.length, pickable(rt), rt.panic]).toEqual([1, 3, true]);
    for (const s of states) s.setDown('unhealthy', true);
    expect([rt.usable.length, pickable(rt), rt.panic]).toEqual([0, 3, true]); // none up: still all used but the open one
    states[1]!.setDown('circuit-open', true);
    states[2]!.setDown('circuit-open', true);
    states[3]!.setDown('circuit-open', true);
    expect([rt.usable.length, pickable(rt), rt.panic]).toEqual([0, 4, true]); // every breaker open: all of them again
    for (const s of states) s.setDown('circuit-open', false);
    for (const s of states) s.setDown('unhealthy', false);
    expect(panics).toEqual(['enter 1/4', 'leave 2/4']);
  });

  it('with panicThreshold 0 (panic off, as in Envoy) a service whose endpoints are all down has none to pick', () => {
    const none = runtime(urls, 0);
    for (const s of none.states) s.setDown('unhealthy', true);
    expect([none.rt.usable.length, pickable(none.rt), none.rt.panic]).toEqual([0, 0, false]);
    none.states[3]!.setDown('unhealthy', false);
    expect([none.rt.usable.map((e) => e.url), pickable(none.rt)]).toEqual([[urls[3]], 1]);
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
