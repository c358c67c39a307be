import { describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError, type ConfigIssue, type LoadBalancerOption } from '../../../src/index.js';

const endpoints = ['http://127.0.0.1:1'];

function issuesOf(loadBalancer: unknown, where: 'service' | 'defaults' = 'service'): readonly ConfigIssue[] {
  const config =
    where === 'service'
      ? { services: { x: { endpoints, loadBalancer: loadBalancer as LoadBalancerOption } } }
      : { defaults: { loadBalancer: loadBalancer as LoadBalancerOption }, services: { x: { endpoints } } };
  try {
    new MeshClient(config);
  } catch (error) {
    expect(error).toBeInstanceOf(MeshConfigError);
    return (error as MeshConfigError).issues;
  }
  throw new Error('expected a MeshConfigError');
}

const paths = (issues: readonly ConfigIssue[]) => issues.map((i) => i.path);
const lb = 'services.x.loadBalancer';

describe('load balancer options: bad input is a MeshConfigError naming the path', () => {
  const cases: [string, unknown, string[]][] = [
    ['unknown policy (string form)', 'fastest', [lb]],
    ['unknown policy (object form)', { policy: 'fastest' }, [`${lb}.policy`]],
    ['choiceCount below 2', { policy: 'least-request', choiceCount: 1 }, [`${lb}.choiceCount`]],
    ['choiceCount not an integer', { policy: 'least-request', choiceCount: 2.5 }, [`${lb}.choiceCount`]],
    ['choiceCount not a number', { policy: 'peak-ewma', choiceCount: '2' }, [`${lb}.choiceCount`]],
    ['decayMs zero', { policy: 'peak-ewma', decayMs: 0 }, [`${lb}.decayMs`]],
    ['unknown least-request option', { policy: 'least-request', choicecount: 3 }, [`${lb}.choicecount`]],
    ['option on a policy without options', { policy: 'weighted-round-robin', choiceCount: 2 }, [`${lb}.choiceCount`]],
    ['option on random', { policy: 'random', seed: 1 }, [`${lb}.seed`]],
    // A missing required option is reported on the block that lacks it (a path that exists in the input).
    ['maglev without hashOn', 'maglev', [lb]],
    ['non-prime tableSize', { policy: 'maglev', hashOn: 'path', tableSize: 65536 }, [`${lb}.tableSize`]],
    ['tableSize too small', { policy: 'maglev', hashOn: 'path', tableSize: 2 }, [`${lb}.tableSize`]],
    ['tableSize too large', { policy: 'maglev', hashOn: 'path', tableSize: 5_000_101 }, [`${lb}.tableSize`]],
    ['hashOn an unknown string', { policy: 'maglev', hashOn: 'url' }, [`${lb}.hashOn`]],
    ['hashOn two kinds', { policy: 'ring-hash', hashOn: { header: 'a', cookie: 'b' } }, [`${lb}.hashOn`]],
    ['hashOn unknown kind', { policy: 'ring-hash', hashOn: { ip: true } }, [`${lb}.hashOn`]],
    ['hashOn empty header', { policy: 'ring-hash', hashOn: { header: '' } }, [`${lb}.hashOn.header`]],
    ['hashOn bad header name', { policy: 'ring-hash', hashOn: { header: 'x user' } }, [`${lb}.hashOn.header`]],
    ['hashOn bad cookie name', { policy: 'maglev', hashOn: { cookie: 'a;b' } }, [`${lb}.hashOn.cookie`]],
    ['hashOn query not a string', { policy: 'maglev', hashOn: { query: 3 } }, [`${lb}.hashOn.query`]],
    ['minRingSize above maxRingSize', { policy: 'ring-hash', hashOn: 'path', minRingSize: 4096, maxRingSize: 1024 }, [`${lb}.minRingSize`]],
    ['maxRingSize too large', { policy: 'ring-hash', hashOn: 'path', maxRingSize: 2 ** 24 }, [`${lb}.maxRingSize`]],
    ['pointsPerEndpoint zero', { policy: 'ring-hash', hashOn: 'path', pointsPerEndpoint: 0 }, [`${lb}.pointsPerEndpoint`]],
    [
      'several problems at once',
      { policy: 'maglev', hashOn: { header: '' }, tableSize: 100, extra: 1 },
      [`${lb}.extra`, `${lb}.hashOn.header`, `${lb}.tableSize`],
    ],
  ];
  it.each(cases)('%s', (_name, value, expected) => {
    const issues = issuesOf(value);
    expect(paths(issues)).toEqual(expected);
    for (const issue of issues) expect(issue.message.length).toBeGreaterThan(10);
  });

  it('names the defaults path too', () => {
    expect(paths(issuesOf({ policy: 'least-request', choiceCount: 0 }, 'defaults'))).toEqual([
      'defaults.loadBalancer.choiceCount',
    ]);
  });

  it('a missing hashOn says what it takes', () => {
    const [issue] = issuesOf({ policy: 'ring-hash' });
    expect(issue).toMatchObject({ path: lb, message: `missing required option "hashOn": 'path', { header: name }, { cookie: name } or { query: name }` });
  });

  it('says what was expected and what was found', () => {
    const [issue] = issuesOf({ policy: 'maglev', hashOn: 'path', tableSize: 65536 });
    expect(issue!.message).toMatch(/prime/);
    expect(issue!.message).toMatch(/65536/);
  });

  it('rejects a bad update whole and keeps serving with the old policy', async () => {
    const mesh = new MeshClient({ services: { x: { endpoints, loadBalancer: { policy: 'maglev', hashOn: 'path' } } } });
    const events: string[] = [];
    mesh.on('config', (e) => events.push(e.type));
    await expect(
      mesh.updateConfig({ services: { x: { endpoints, loadBalancer: { policy: 'maglev', hashOn: 'path', tableSize: 10 } } } }),
    ).rejects.toThrow(MeshConfigError);
    // The snapshot shows the options in force: the schema's defaults filled in.
    expect(mesh.snapshot().services.x!.loadBalancer).toEqual({ policy: 'maglev', hashOn: 'path', tableSize: 65_537 });
    await mesh.updateConfig({ services: { x: { endpoints, loadBalancer: { policy: 'least-request', choiceCount: 3 } } } });
    expect(mesh.snapshot().services.x!.loadBalancer).toEqual({ policy: 'least-request', choiceCount: 3 });
    expect(events).toEqual(['rejected', 'applied']);
    await mesh.close();
  });

  it('accepts every policy with valid options', () => {
    const good: LoadBalancerOption[] = [
      'round-robin',
      'weighted-round-robin',
      'random',
      'least-request',
      { policy: 'least-request', choiceCount: 5 },
      'peak-ewma',
      { policy: 'peak-ewma', choiceCount: 3, decayMs: 5000 },
      { policy: 'ring-hash', hashOn: { header: 'X-User' }, minRingSize: 512, maxRingSize: 65536, pointsPerEndpoint: 100 },
      { policy: 'ring-hash', hashOn: { cookie: 'sid' } },
      { policy: 'maglev', hashOn: { query: 'user' }, tableSize: 131071 },
      { policy: 'maglev', hashOn: 'path' },
    ];
    for (const loadBalancer of good) {
      const mesh = new MeshClient({ services: { x: { endpoints, loadBalancer } } });
      expect(mesh.snapshot().services.x!.loadBalancer.policy).toBe(
        typeof loadBalancer === 'string' ? loadBalancer : loadBalancer.policy,
      );
      void mesh.close();
    }
  });
});
