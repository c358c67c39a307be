import { describe, expectTypeOf, it } from 'vitest';
import type {
  HashOn,
  LeastRequestOptions,
  LoadBalancerDefinition,
  MaglevOptions,
  PeakEwmaOptions,
  RingHashOptions,

  HASH_ON_SCHEMA,
  LEAST_REQUEST_OPTIONS_SCHEMA,
  MAGLEV_OPTIONS_SCHEMA,
  PEAK_EWMA_OPTIONS_SCHEMA,
  RING_HASH_OPTIONS_SCHEMA} from '../../../src/index.js';
import type { Static } from '@sinclair/typebox';
import {
  LEAST_REQUEST_DEFAULTS,
  MAGLEV_DEFAULTS,
  PEAK_EWMA_DEFAULTS,
  RING_HASH_DEFAULTS
} from '../../../src/index.js';

describe('balancer option types', () => {
  it('describe each policy’s options', () => {
    expectTypeOf<LeastRequestOptions>().toEqualTypeOf<{ choiceCount?: number }>();
    expectTypeOf<PeakEwmaOptions>().toEqualTypeOf<{ choiceCount?: number; decayMs?: number }>();
    expectTypeOf<MaglevOptions['tableSize']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<RingHashOptions['hashOn']>().toEqualTypeOf<HashOn>();
    expectTypeOf(RING_HASH_DEFAULTS).toEqualTypeOf<
      Readonly<{ minRingSize: number; maxRingSize: number; pointsPerEndpoint: number }>
    >();
    expectTypeOf(MAGLEV_DEFAULTS.tableSize).toBeNumber();
    expectTypeOf(LEAST_REQUEST_DEFAULTS.choiceCount).toBeNumber();
    expectTypeOf(PEAK_EWMA_DEFAULTS.decayMs).toBeNumber();
  });

  it('accept the hashOn forms and reject others', () => {
    expectTypeOf<{ header: string }>().toExtend<HashOn>();
    expectTypeOf<{ cookie: string }>().toExtend<HashOn>();
    expectTypeOf<{ query: string }>().toExtend<HashOn>();
    expectTypeOf<'path'>().toExtend<HashOn>();
    expectTypeOf<'url'>().not.toExtend<HashOn>();
    expectTypeOf<{ header: number }>().not.toExtend<HashOn>();
  });

  it('lets a custom policy type its options', () => {
    const definition: LoadBalancerDefinition<{ spread: number }> = {
      create: (options) => {
        expectTypeOf(options.spread).toBeNumber();
        return { update: () => undefined, pick: () => undefined };
      },
    };
    expectTypeOf(definition.create).parameter(0).toEqualTypeOf<{ spread: number }>();
  });
});

describe('balancer option schemas', () => {
  it('describe the same options as the option types', () => {
    expectTypeOf<Static<typeof LEAST_REQUEST_OPTIONS_SCHEMA>>().toEqualTypeOf<LeastRequestOptions>();
    expectTypeOf<Static<typeof PEAK_EWMA_OPTIONS_SCHEMA>>().toEqualTypeOf<PeakEwmaOptions>();
    expectTypeOf<Static<typeof RING_HASH_OPTIONS_SCHEMA>>().toEqualTypeOf<RingHashOptions>();
    expectTypeOf<Static<typeof MAGLEV_OPTIONS_SCHEMA>>().toEqualTypeOf<MaglevOptions>();
    expectTypeOf<Static<typeof HASH_ON_SCHEMA>>().toEqualTypeOf<HashOn>();
  });
});
