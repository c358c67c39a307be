import type { Dispatcher } from 'undici';
import type { MeshError } from '../../errors/mesh-error.js';
import type { EventBus } from '../../telemetry/event-bus.js';
import type { Tracing } from '../../telemetry/otel-tracing.js';
import type { Clock } from '../../util/clock.js';
import type { ServiceRuntime } from '../service-runtime.js';
import type { RequestController } from './controller.js';

/** What a request needs from the client that owns it. */
export interface RequestEnvironment {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly random: () => number;
  readonly tracing: Tracing;
  /**
   * The requests in flight (from `start` to their end, body included), which
   * `MeshClient.close` drains and `MeshClient.destroy` aborts.
   */
  readonly live: Set<RequestController>;
}

/** A request to a configured service. */
export interface ServiceRoute {
  readonly kind: 'service';
  readonly service: ServiceRuntime;
  readonly authority: string;
  /**
   * The TLS server name undici derives from the `host` header (`authority`)
   * when a request names none: worked out once per route rather than by
   * undici per attempt (an IP address check); undefined for an IP authority.
   */
  readonly servername: string | undefined;
  /** Only TLS endpoints may serve it (an `https://` URL, or `requireTls`). */
  readonly secure: boolean;
}

/** Where a request goes: a configured service, or straight to its origin (egress), or nowhere (refused). */
export type RequestRoute =
  | ServiceRoute
  | { readonly kind: 'egress'; readonly dispatcher: Dispatcher; readonly origin: string; readonly host: string }
  | { readonly kind: 'refused'; readonly error: MeshError; readonly host: string };
