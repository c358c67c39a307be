import type { FaultSpec } from '../faults/spec.js';
import type { Step } from './steps.js';

// One spec and one validator for the kit and the mesh's `faults` option.
export { checkFaults, type FaultSpec } from '../faults/spec.js';

/** What fault injection decided for one call. */
export interface FaultDecision {
  /** Added delay in milliseconds (0 when not delayed). */
  delayMs: number;
  /** The step that replaces the script's, when the call is aborted. */
  abort: Step | undefined;
}

/**
 * Decides the faults of one call: two independent draws, delay first, then
 * abort (as Envoy's fault filter does).
 */
export function decideFault(spec: FaultSpec | undefined, random: () => number): FaultDecision {
  if (!spec) return { delayMs: 0, abort: undefined };
  const delayMs = spec.delay && random() * 100 < spec.delay.percent ? spec.delay.ms : 0;
  let abort: Step | undefined;
  if (spec.abort && random() * 100 < spec.abort.percent) {
    abort = spec.abort.status !== undefined ? { status: spec.abort.status, body: 'fault filter abort' } : { fail: spec.abort.error ?? 'reset' };
  }
  return { delayMs, abort };
}
