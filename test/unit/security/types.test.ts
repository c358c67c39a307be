import { describe, expectTypeOf, it } from 'vitest';
import type { AuthHook, EgressOption, MeshConfig, ServiceOptions, TlsOptions } from '../../../src/index.js';
import type { SpiffeAuthorizer, ServerTlsSettings } from '../../../src/server/index.js';

describe('security option types', () => {
  it('accepts the documented shapes and rejects typos at compile time', () => {
    expectTypeOf<{ ca: { file: string }; identity: { allow: string[] } }>().toExtend<TlsOptions>();
    expectTypeOf<{ ca: Buffer; cert: string; key: string; minVersion: 'TLSv1.3'; watch: { pollMs: number } }>().toExtend<TlsOptions>();
    expectTypeOf<{ minVersion: 'TLSv1.1' }>().not.toExtend<TlsOptions>();
    expectTypeOf<{ identity: { allowed: string[] } }>().not.toExtend<TlsOptions>();
    expectTypeOf<'allow'>().toExtend<EgressOption>();
    expectTypeOf<{ mode: 'deny'; allow: string[] }>().toExtend<EgressOption>();
    expectTypeOf<{ mode: 'allow'; allow: string[] }>().not.toExtend<EgressOption>();
    expectTypeOf<{ tls: false; requireTls: true; auth: AuthHook }>().toExtend<ServiceOptions>();
    expectTypeOf<MeshConfig['egress']>().toEqualTypeOf<EgressOption | undefined>();
    expectTypeOf<() => Promise<{ headers: Record<string, string>; expiresAt: Date }>>().toExtend<AuthHook>();
    expectTypeOf<SpiffeAuthorizer>().returns.toEqualTypeOf<boolean>();
    expectTypeOf<{ ca: string; cert: string; key: string }>().toExtend<ServerTlsSettings>();
  });
});
