import type { ResolvedFaults } from '../../faults/spec.js';
import { MeshError } from '../../errors/mesh-error.js';

/*
 * Fault injection (Istio's, applied once per logical request, after routing
 * and before admission): two independent draws from the mesh's `random`,
 * delay first, then abort. The engine owns the delay's timer and the
 * synthetic response; this file says what was drawn and what it means.
 */

/** The abort a fault spec may inject. */
export type FaultAbort = NonNullable<ResolvedFaults['abort']>;

/** The body of an injected abort with a status (Envoy's fault filter answers the same text). */
export const FAULT_BODY = Buffer.from('fault filter abort');

/** The response headers of an injected abort with a status (copied per response). */
export const FAULT_HEADERS = Object.freeze({
  'content-type': 'text/plain',
  'content-length': String(FAULT_BODY.length),
  'x-proxyless-fault': 'abort',
});

/** The first draw: the injected delay in milliseconds, or -1 for none. */
export function drawFaultDelay(faults: ResolvedFaults, random: () => number): number {
  return faults.delay !== undefined && random() * 100 < faults.delay.percent ? faults.delay.ms : -1;
}

/** The second draw: the injected abort, or undefined for none. */
export function drawFaultAbort(faults: ResolvedFaults, random: () => number): FaultAbort | undefined {
  return faults.abort !== undefined && random() * 100 < faults.abort.percent ? faults.abort : undefined;
}

/** The `proxyless.fault` span attribute for what was drawn (at least one of the two). */
export function faultLabel(delayMs: number, abort: FaultAbort | undefined): string {
  return delayMs < 0 ? 'abort' : abort === undefined ? 'delay' : 'delay,abort';
}

/**
 * The failure of an injected abort without a status: timeouts are
 * `MESH_TIMEOUT`, the others `MESH_UPSTREAM_FAILURE`, each with the
 * transport error it stands for as `cause`.
 */
export function faultError(abort: FaultAbort, service: string): MeshError {
  const kind = abort.error!;
  const timeout = kind === 'timeout' || kind === 'connect-timeout';
  const cause = Object.assign(new Error(`fault injected: ${kind}`), {
    code: timeout ? 'UND_ERR_HEADERS_TIMEOUT' : kind === 'reset' ? 'ECONNRESET' : 'ECONNREFUSED',
  });
  return new MeshError(timeout ? 'MESH_TIMEOUT' : 'MESH_UPSTREAM_FAILURE', `request to ${service} aborted by fault injection (${kind})`, {
    cause,
    service,
    attempts: 0,
  });
}
