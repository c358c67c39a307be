import { describe, expectTypeOf, it } from 'vitest';
import type {
  MeshClient} from '../../../src/index.js';
import {
  dnsDiscovery,
  fileDiscovery,
  staticDiscovery,
  type DiscoveryOption,
  type DiscoveryProvider,
  type HealthCheckOptions,
  type MeshHealth,
  type ServiceOptions,
} from '../../../src/index.js';
import { etcdDiscovery, registerWithEtcd, type EtcdRegistration } from '../../../src/integrations/etcd/index.js';

describe('public types of discovery and health', () => {
  it('accepts providers, specs and lists, and types health()', () => {
    expectTypeOf(fileDiscovery('x.json')).toEqualTypeOf<DiscoveryProvider>();
    expectTypeOf(dnsDiscovery({ type: 'SRV' })).toEqualTypeOf<DiscoveryProvider>();
    expectTypeOf(etcdDiscovery()).toEqualTypeOf<DiscoveryProvider>();
    expectTypeOf([staticDiscovery({}), { type: 'file', path: 'x' }]).toExtend<DiscoveryOption>();
    expectTypeOf<ServiceOptions['healthCheck']>().toEqualTypeOf<HealthCheckOptions | false | undefined>();
    expectTypeOf<MeshClient['health']>().returns.toEqualTypeOf<MeshHealth>();
    expectTypeOf(registerWithEtcd).returns.resolves.toEqualTypeOf<EtcdRegistration>();
    // A typo in an option name is a compile error.
    // @ts-expect-error unknown option
    expectTypeOf<HealthCheckOptions>().toExtend<{ intervalMS: number }>();
    const bad: HealthCheckOptions = {
      // @ts-expect-error unknown option
      intervalMS: 5,
    };
    void bad;
  });
});
