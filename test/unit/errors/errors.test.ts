import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  MeshConfigError,
  MeshError,
  MeshErrorCodes,
  isMeshConfigError,
  isMeshError,
  type MeshErrorCode,
} from '../../../src/index.js';

describe('errors', () => {
  it('carries a stable code, the cause and the request facts', () => {
    const cause = new Error('ECONNRESET');
    const e = new MeshError('MESH_TIMEOUT', 'too slow', { cause, service: 'orders', endpoint: 'http://a:1', attempts: 2 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('MeshError');
    expect(e.code).toBe('MESH_TIMEOUT');
    expect(e.cause).toBe(cause);
    expect([e.service, e.endpoint, e.attempts]).toEqual(['orders', 'http://a:1', 2]);
    expect(isMeshError(e)).toBe(true);
    expect(isMeshError(e, 'MESH_TIMEOUT')).toBe(true);
    expect(isMeshError(e, 'MESH_CLOSED')).toBe(false);
    expect(isMeshError(new Error('x'))).toBe(false);
    expect(isMeshConfigError(e)).toBe(false);
  });

  it('recognises errors from another copy of the package by brand', () => {
    const foreign = new Error('from another copy');
    Object.defineProperty(foreign, Symbol.for('proxyless.error'), { value: true });
    expect(foreign instanceof MeshError).toBe(true);
    const foreignConfig = new Error('x');
    Object.defineProperty(foreignConfig, Symbol.for('proxyless.error.config'), { value: true });
    expect(isMeshConfigError(foreignConfig)).toBe(true);
  });

  it('MeshConfigError lists issues and summarises them in the message', () => {
    const issues = Array.from({ length: 7 }, (_, i) => ({ path: `services.s${i}`, message: 'bad' }));
    const e = new MeshConfigError(issues);
    expect(e.code).toBe('MESH_CONFIG_INVALID');
    expect(e).toBeInstanceOf(MeshError);
    expect(e.issues).toHaveLength(7);
    expect(e.message).toMatch(/services\.s0: bad.*\(and 2 more\)/);
    expect(Object.isFrozen(e.issues)).toBe(true);
  });

  it('has one catalogue of codes that includes the contract codes', () => {
    for (const code of [
      'MESH_UNKNOWN_SERVICE',
      'MESH_NO_HEALTHY_ENDPOINT',
      'MESH_CIRCUIT_OPEN',
      'MESH_TIMEOUT',
      'MESH_BULKHEAD_REJECTED',
      'MESH_PEER_IDENTITY',
      'MESH_CLOSED',
      'MESH_CONFIG_INVALID',
    ]) {
      expect(MeshErrorCodes[code as MeshErrorCode]).toBe(code);
    }
    expectTypeOf<'MESH_TIMEOUT'>().toExtend<MeshErrorCode>();
    expectTypeOf<MeshError['code']>().toEqualTypeOf<MeshErrorCode>();
  });
});
