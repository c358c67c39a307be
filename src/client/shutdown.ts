import { MeshError } from '../errors/mesh-error.js';
import type { Clock } from '../util/clock.js';
import type { RequestController } from './request/controller.js';

/** How often a draining {@link MeshClient.close} looks for requests still in flight. */
const CLOSE_POLL_MS = 25;

/**
 * How long {@link MeshClient.close} lets requests in flight finish before it
 * aborts them with `MESH_CLOSED`: 5 s, like Envoy's default drain time.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/** Options of {@link MeshClient.close}. */
export interface CloseOptions {
  /**
   * How long requests in flight may take to finish (streaming bodies
   * included) before they are aborted with `MESH_CLOSED`, in milliseconds.
   * Default {@link DEFAULT_CLOSE_TIMEOUT_MS}; `0` aborts at once;
   * `Infinity` waits for ever (undici's `close()`).
   */
  timeoutMs?: number;
}

/**
 * Resolves true once no request of `live` is in flight, or false after
 * `timeoutMs` (the rest are then aborted with `MESH_CLOSED`).
 */
export function drainLive(live: Set<RequestController>, clock: Clock, timeoutMs: number): Promise<boolean> {
  if (live.size === 0) return Promise.resolve(true);
  if (timeoutMs === 0) {
    abortLive(live, undefined, 0);
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    // Polled, not signalled: the request path stays free of close-time hooks. The timers are unref'd:
    // the requests themselves hold the process (src/util/process-hold.ts).
    const started = clock.now();
    const tick = Math.max(1, Math.min(CLOSE_POLL_MS, timeoutMs));
    const poll = (): void => {
      if (live.size === 0) resolve(true);
      else if (clock.now() - started >= timeoutMs) {
        abortLive(live, undefined, timeoutMs);
        resolve(false);
      } else clock.setTimeout(poll, tick);
    };
    clock.setTimeout(poll, tick);
  });
}

/** Fails every request of `live` with `MESH_CLOSED` (`cause` when destroyed with an error; `drainedMs` when a drain ran out). */
export function abortLive(live: Set<RequestController>, cause: Error | undefined, drainedMs?: number): void {
  if (live.size === 0) return;
  const message =
    drainedMs === undefined ? 'the mesh was destroyed' : `the mesh closed: the request did not finish within the ${drainedMs} ms drain`;
  for (const request of [...live]) {
    request.shutdown(new MeshError('MESH_CLOSED', message, cause === undefined ? {} : { cause }));
  }
  live.clear();
}
