import type { Static } from '@sinclair/typebox';
import { describe, expectTypeOf, it } from 'vitest';
import type * as S from '../../../src/config/schema.js';
import type {
  EgressOption,
  EndpointInput,
  FaultError,
  MeshConfig,
  PathMatch,
  RetryCondition,
  RetryOptions,
  StringMatch,
  TlsSource,
} from '../../../src/index.js';

// The option types are the schema's static types (src/config/schema.ts). The small unions are written out for
// the API reference; these assertions fail to compile (npm run typecheck) if one drifts from the schema.
describe('the option types are the schema', () => {
  it('the written-out unions equal the static types of their schemas', () => {
    expectTypeOf<EgressOption>().toEqualTypeOf<Static<typeof S.EGRESS_SCHEMA>>();
    expectTypeOf<EndpointInput>().toEqualTypeOf<Static<typeof S.ENDPOINT_INPUT_SCHEMA>>();
    expectTypeOf<FaultError>().toEqualTypeOf<Static<typeof S.FAULT_ERROR_SCHEMA>>();
    expectTypeOf<PathMatch>().toEqualTypeOf<Static<typeof S.PATH_MATCH_SCHEMA>>();
    expectTypeOf<RetryCondition>().toEqualTypeOf<Static<typeof S.RETRY_CONDITION_SCHEMA>>();
    expectTypeOf<StringMatch>().toEqualTypeOf<Static<typeof S.STRING_MATCH_SCHEMA>>();
    expectTypeOf<TlsSource>().toEqualTypeOf<Static<typeof S.TLS_SOURCE_SCHEMA>>();
  });

  it('the interfaces are the static types of their schemas', () => {
    expectTypeOf<RetryOptions>().toEqualTypeOf<Static<typeof S.RETRY_SCHEMA>>();
    expectTypeOf<MeshConfig>().toMatchTypeOf<Static<typeof S.MESH_CONFIG_SCHEMA>>();
    expectTypeOf<Static<typeof S.MESH_CONFIG_SCHEMA>>().toMatchTypeOf<MeshConfig>();
  });
});
