import { describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, listLoadBalancers } from '../../../src/index.js';
import { closestName, unknownOptionMessage } from '../../../src/util/suggest.js';

function issuesOf(config: unknown): { path: string; message: string }[] {
  try {
    new MeshClient(config as never);
  } catch (error) {
    expect(error).toBeInstanceOf(MeshConfigError);
    return (error as MeshConfigError).issues.map(({ path, message }) => ({ path, message }));
  }
  throw new Error('the config was accepted');
}

describe('config errors suggest the name meant', () => {
  it('an unknown option names the closest known one', () => {
    expect(issuesOf({ services: { orders: { endpoints: ['http://127.0.0.1:1'], timout: { totalMs: 100 } } } })).toEqual([
      { path: 'services.orders.timout', message: 'unknown option "timout" (did you mean "timeout"?)' },
    ]);
    expect(issuesOf({ services: { orders: { healthCheck: { intervalMS: 100 } } } })).toEqual([
      { path: 'services.orders.healthCheck.intervalMS', message: 'unknown option "intervalMS" (did you mean "intervalMs"?)' },
    ]);
  });

  it('an option far from every known one lists them all', () => {
    const [issue] = issuesOf({ services: { orders: { healthCheck: { zzzzzzzz: 1 } } } });
    expect(issue!.path).toBe('services.orders.healthCheck.zzzzzzzz');
    expect(issue!.message).toMatch(/^unknown option "zzzzzzzz" \(expected one of: type, path, intervalMs, .*noTrafficIntervalMs\)$/);
  });

  it('an unknown load balancer lists the known ones, and suggests a near one', () => {
    const issues = issuesOf({ services: { orders: { loadBalancer: 'x' } } }); // registers the built-ins
    const known = listLoadBalancers().join(', ');
    expect(known).toContain('round-robin, weighted-round-robin, random, least-request, peak-ewma, ring-hash, maglev');
    expect(issues).toEqual([
      { path: 'services.orders.loadBalancer', message: `unknown load balancer "x" (known: ${known})` },
    ]);
    expect(issuesOf({ services: { orders: { loadBalancer: { policy: 'round-robbin' } } } })).toEqual([
      { path: 'services.orders.loadBalancer.policy', message: `unknown load balancer "round-robbin" (did you mean "round-robin"? known: ${known})` },
    ]);
  });

  it('closestName: edits, swaps and case count; far names do not', () => {
    expect(closestName('timout', ['timeout', 'retry'])).toBe('timeout');
    expect(closestName('rerty', ['timeout', 'retry'])).toBe('retry'); // adjacent swap: one edit
    expect(closestName('RETRY', ['timeout', 'retry'])).toBe('retry');
    expect(closestName('x', ['timeout', 'retry'])).toBeUndefined();
    expect(closestName('abc', [])).toBeUndefined();
    expect(unknownOptionMessage('winodwMs', ['windowMs', 'minWeightPercent'], 'for slow start')).toBe(
      'unknown option "winodwMs" for slow start (did you mean "windowMs"?)',
    );
  });
});
