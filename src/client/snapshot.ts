import { connectionSnapshot } from '../config/resolve.js';
import type { FaultSpec } from '../faults/spec.js';
import type { LoadBalancerChoice } from '../config/types.js';
import type { ServiceDiscoveryStatus } from '../discovery/registry.js';
import type { TelemetrySnapshot } from '../telemetry/telemetry.js';
import type { MeshReconciler } from './reconciler.js';
import type { ServiceRuntime } from './service-runtime.js';

/**
 * Plain-JSON state of the mesh, from {@link MeshClient.snapshot}, like
 * Envoy's config dump: every field is documented in docs/observability.md.
 */
export interface MeshSnapshot {
  /** The configuration version: 1 at construction, +1 per applied update. */
  version: number;
  /** When the snapshot was taken: milliseconds since the epoch (the client's clock). */
  time: number;
  /** True once {@link MeshClient.close} or {@link MeshClient.destroy} was called. */
  closed: boolean;
  /** The egress rule in force. */
  egress: 'allow' | 'deny';
  /** How many times an observer, event listener or logger threw. */
  observerErrors: number;
  /** What telemetry does right now. */
  telemetry: TelemetrySnapshot;
  /** Every configured service by name. */
  services: Record<string, ServiceSnapshot>;
}

/** One service in a {@link MeshSnapshot}. */
export interface ServiceSnapshot {
  /** The policy and its options, e.g. `{ policy: 'round-robin' }`. */
  loadBalancer: LoadBalancerChoice;
  /** Pool settings in force, defaults filled in (`interceptors`: how many, when there are any). */
  connection: Record<string, number>;
  /** How many endpoints the balancer may pick now. */
  usableEndpoints: number;
  /** Attempts in flight over all endpoints. */
  inflight: number;
  /** Each endpoint with its attributes and live counters (url, weight, zone, priority, labels, inflight, attempts, failures, connected). */
  endpoints: Record<string, unknown>[];
  /** Routes with their split shares, and each destination's priority/locality groups and panic state. */
  routing: Record<string, unknown>;
  /** TLS state: material generation (0 without `tls` settings), `requireTls`, identity policy, client certificate expiry. */
  tls: Record<string, unknown>;
  /** True while too few endpoints are up and all of them are used (see `panicThreshold`). */
  panic: boolean;
  /** Where the endpoints come from, when discovery providers back the service. */
  discovery?: ServiceDiscoveryStatus;
  /** Panic, service breaker, retry budget, bulkhead and ejection counts. */
  resilience: Record<string, unknown>;
  /** The service's fault injection in force (`{ delay, abort }`), when on; routes show their own in `routing`. */
  faults?: FaultSpec;
}

/** What a snapshot reads besides the control side's state. */
export interface SnapshotSources {
  /** The client's wall clock, now. */
  readonly time: number;
  readonly closed: boolean;
  readonly observerErrors: number;
  readonly telemetry: TelemetrySnapshot;
}

/** Builds {@link MeshSnapshot} from the state in force. */
export function buildSnapshot(control: MeshReconciler, sources: SnapshotSources): MeshSnapshot {
  const state = control.state;
  const services: MeshSnapshot['services'] = {};
  for (const [name, service] of state.services) {
    const entry: ServiceSnapshot = {
      loadBalancer: { policy: service.config.loadBalancer.policy, ...service.config.loadBalancer.options },
      connection: connectionSnapshot(service.config.connection),
      usableEndpoints: service.main.eligible,
      panic: service.panic,
      resilience: service.resilience?.toJSON() ?? {},
      endpoints: service.endpoints.map((endpoint) => ({ ...endpoint.toJSON(), ...service.resilience?.describeEndpoint(endpoint) })),
      inflight: service.endpoints.reduce((sum, endpoint) => sum + endpoint.inflight, 0),
      routing: service.describeRouting(),
      tls: tlsSnapshot(service.security),
    };
    services[name] = entry;
    const discovery = control.registry.status(name);
    if (discovery) entry.discovery = discovery;
    const faults = service.config.faults;
    if (faults) entry.faults = JSON.parse(JSON.stringify(faults)) as ServiceSnapshot['faults'];
  }
  return {
    version: state.version,
    time: sources.time,
    closed: sources.closed,
    egress: state.config.egress,
    observerErrors: sources.observerErrors,
    telemetry: sources.telemetry,
    services,
  };
}

function tlsSnapshot(security: ServiceRuntime['security']): Record<string, unknown> {
  const tls = security?.tls;
  const out: Record<string, unknown> = { generation: tls?.generation ?? 0, requireTls: security?.requireTls ?? false };
  if (!tls) return out;
  const identity = tls.config.identity;
  if (identity) {
    out.identity = {
      ...(identity.trustDomain === undefined ? {} : { trustDomain: identity.trustDomain }),
      ...(identity.allow === undefined ? {} : { allow: [...identity.allow] }),
    };
  }
  out.clientCertificate = tls.material.cert !== undefined;
  if (tls.material.notAfter !== undefined) out.certificateNotAfter = new Date(tls.material.notAfter).toISOString();
  return out;
}
