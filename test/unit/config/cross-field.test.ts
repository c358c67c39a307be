import { describe, expect, it } from 'vitest';
import { MeshClient, MeshConfigError } from '../../../src/index.js';

function issuesOf(config: unknown): { path: string; message: string }[] {
  try {
    void new MeshClient(config as never).close();
  } catch (error) {
    expect(error).toBeInstanceOf(MeshConfigError);
    return (error as MeshConfigError).issues.map(({ path, message }) => ({ path, message }));
  }
  throw new Error('the config was accepted');
}

const endpoints = ['http://127.0.0.1:9'];

describe('timeout.perTryMs <= timeout.totalMs is reported where it is written', () => {
  it('in defaults: once, at defaults (not again at each service inheriting it)', () => {
    expect(issuesOf({ defaults: { timeout: { perTryMs: 2_000, totalMs: 1_000 } }, services: { orders: { endpoints }, users: { endpoints } } })).toEqual([
      { path: 'defaults.timeout.perTryMs', message: 'must be <= timeout.totalMs (1000), found 2000' },
    ]);
  });

  it('a service lowering totalMs under the inherited perTryMs: at its totalMs', () => {
    expect(issuesOf({ defaults: { timeout: { perTryMs: 2_000 } }, services: { orders: { endpoints, timeout: { totalMs: 500 } } } })).toEqual([
      { path: 'services.orders.timeout.totalMs', message: 'must be >= timeout.perTryMs (2000), found 500' },
    ]);
  });

  it('a service raising perTryMs over the inherited totalMs: at its perTryMs', () => {
    expect(issuesOf({ defaults: { timeout: { totalMs: 1_000 } }, services: { orders: { endpoints, timeout: { perTryMs: 1_500 } } } })).toEqual([
      { path: 'services.orders.timeout.perTryMs', message: 'must be <= timeout.totalMs (1000), found 1500' },
    ]);
  });
});
