/**
 * `proxyless/testing`: a test kit for code that uses proxyless, and for the
 * mesh's own decisions. Scripted endpoints over undici's `MockAgent` (no
 * sockets), fault injection, fake discovery, a test clock and seeded random,
 * a decision log, and assertion helpers with readable diffs.
 *
 * @example
 * ```ts
 * import { createTestMesh, expectCalls } from 'proxyless/testing';
 * const t = createTestMesh({ services: { orders: { endpoints: ['http://10.0.0.1:8080'] } } });
 * t.endpoint('orders', 0).reply(200, { id: 42 });
 * const res = await t.mesh.fetch('http://orders/orders/42');
 * expectCalls(t, 'orders').toEqual([{ method: 'GET', path: '/orders/42' }]);
 * await t.close();
 * ```
 *
 * @packageDocumentation
 * @module proxyless/testing
 */
export { createTestMesh, TestMesh, type TestMeshOptions } from './test-mesh.js';
export { TestClock, type TestClockOptions } from './test-clock.js';
export { seededRandom, stratifiedRandom } from './random.js';
export {
  ScriptedEndpoint,
  type EndpointCall,
  type EndpointHost,
  type ReplyInit,
  type FlapOptions,
  type CallPlan,
} from './scripted-endpoint.js';
export {
  sampleLatency,
  type FailureKind,
  type ReplyBody,
  type ReplyStep,
  type FailStep,
  type HangStep,
  type PassthroughStep,
  type Step,
  type StepInput,
  type LatencyModel,
  type LatencyRange,
  type LatencyBucket,
} from './steps.js';
export { checkFaults, decideFault, type FaultSpec, type FaultDecision } from './faults.js';
export {
  FakeDiscovery,
  type DiscoveryRecord,
  type FakeDiscoveryOptions,
  type DiscoveryHost,
} from './fake-discovery.js';
export {
  DecisionLog,
  formatDecisions,
  type RequestDecision,
  type AttemptDecision,
  type RetryDecision,
  type HealthDecision,
  type TimelineEntry,
  type CallClaimer,
} from './decision-log.js';
export {
  expectCalls,
  expectDecisions,
  compare,
  diffValues,
  formatValue,
  filterCalls,
  KitAssertionError,
  type Comparison,
  type CallFilter,
  type CallQuery,
  type CallHistory,
  type CallSource,
  type CallsExpectation,
  type DecisionsExpectation,
  type Expected,
} from './assertions.js';
