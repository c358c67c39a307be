import type { DownReason, LiveEndpoint } from '../endpoint/live-endpoint.js';
import type { ServiceDiscoveryStatus } from '../discovery/registry.js';
import type { EndpointCheckStatus, HealthChecker } from './checker.js';

/** One endpoint that is not usable, and why. */
export interface DownEndpoint {
  /** The endpoint URL. */
  readonly endpoint: string;
  /** Every reason it is not picked: `unhealthy`, `ejected`, `circuit-open`, `draining`, ... */
  readonly reasons: readonly DownReason[];
  /** The active check's view of it, when health checking is on. */
  readonly check?: EndpointCheckStatus;
}

/** The dependency health of one service, from {@link MeshClient.health}. */
export interface ServiceHealth {
  /** Endpoints known (from configuration or discovery). */
  readonly endpoints: number;
  /** Endpoints with no down reason. */
  readonly usable: number;
  /**
   * True while fewer than `panicThreshold` percent are usable: the mesh then
   * balances over every endpoint rather than overloading the few left.
   */
  readonly panic: boolean;
  /** The endpoints that are not usable, and why. */
  readonly down: readonly DownEndpoint[];
  /** Discovery state, when providers back the service. */
  readonly discovery?: ServiceDiscoveryStatus;
}

/** The result of {@link MeshClient.health}. */
export interface MeshHealth {
  /** True when every service has at least one usable endpoint. */
  readonly healthy: boolean;
  /** Per service. */
  readonly services: Readonly<Record<string, ServiceHealth>>;
}

/** What the report reads of a service's runtime: its endpoints and whether it is in panic. */
export interface ReportedService {
  readonly endpoints: readonly LiveEndpoint[];
  readonly panic: boolean;
}

/** Builds the report from the current runtimes (control side; not for the request path). */
export function buildHealthReport(
  services: ReadonlyMap<string, ReportedService>,
  discovery: (service: string) => ServiceDiscoveryStatus | undefined,
  checkers: ReadonlyMap<string, HealthChecker>,
): MeshHealth {
  const out: Record<string, ServiceHealth> = {};
  let healthy = true;
  for (const [name, runtime] of services) {
    const down: DownEndpoint[] = [];
    let usable = 0;
    const checker = checkers.get(name);
    for (const e of runtime.endpoints) {
      if (e.up) {
        usable++;
        continue;
      }
      const check = checker?.status(e.url);
      down.push({ endpoint: e.url, reasons: e.downReasons, ...(check ? { check } : {}) });
    }
    if (usable === 0) healthy = false;
    const d = discovery(name);
    out[name] = { endpoints: runtime.endpoints.length, usable, panic: runtime.panic, down, ...(d ? { discovery: d } : {}) };
  }
  return { healthy, services: out };
}
