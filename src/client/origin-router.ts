import { Agent, type Dispatcher } from 'undici';
import { describe } from '../util/describe.js';
import { MeshError } from '../errors/mesh-error.js';
import { egressAllowed } from '../security/egress.js';
import { serverNameOf } from '../util/headers.js';
import type { MeshState } from './reconciler.js';
import type { RequestRoute } from './request/route.js';

/** Routes cached per state before the cache is emptied (origins are few; this bounds a caller that makes up many). */
const ROUTE_CACHE_LIMIT = 1024;

/**
 * Where a request's origin goes under a {@link MeshState}: a configured
 * service (by host name), or egress (the user's `transport`, else one
 * shared undici `Agent`), or a refusal (`MESH_INVALID_REQUEST`,
 * `MESH_UNKNOWN_SERVICE` when egress is denied). Routes are cached per
 * origin in the state, so a config update starts a fresh cache.
 */
export class OriginRouter {
  readonly #transport: ((origin: string) => Dispatcher) | undefined;
  #egressAgent: Agent | undefined;

  constructor(transport: ((origin: string) => Dispatcher) | undefined) {
    this.#transport = transport;
  }

  /** The route of `origin` (as dispatch options carry it) under `state`. */
  route(state: MeshState, origin: string | URL | undefined): RequestRoute {
    const key = typeof origin === 'string' ? origin : String(origin);
    const cached = state.routes.get(key);
    if (cached) return cached;
    let url: URL;
    try {
      url = new URL(key);
    } catch {
      return {
        kind: 'refused',
        error: new MeshError('MESH_INVALID_REQUEST', `the request has no valid origin (found ${describe(origin)})`),
        host: '',
      };
    }
    const host = url.hostname;
    const service = state.services.get(host);
    let route: RequestRoute;
    if (service) {
      const secure = url.protocol === 'https:' || service.security?.requireTls === true;
      route = { kind: 'service', service, authority: url.host, servername: serverNameOf(url.host), secure };
    } else if (state.config.egress === 'deny' && !egressAllowed(host, state.config.egressAllow)) {
      route = {
        kind: 'refused',
        host,
        error: new MeshError(
          'MESH_UNKNOWN_SERVICE',
          `"${host}" is not a configured service and egress is "deny"${state.config.egressAllow.length > 0 ? ' (it is not on the egress allow-list)' : ''}`,
          { service: host },
        ),
      };
    } else {
      const dispatcher = this.#transport ? this.#transport(url.origin) : (this.#egressAgent ??= new Agent());
      route = { kind: 'egress', dispatcher, origin: url.origin, host };
    }
    if (state.routes.size >= ROUTE_CACHE_LIMIT) state.routes.clear();
    state.routes.set(key, route);
    return route;
  }

  /** Closes (drained) or destroys the egress agent, if one was made. */
  closeEgress(drained: boolean, closing: Promise<unknown>[]): void {
    const egress = this.#egressAgent;
    this.#egressAgent = undefined;
    if (egress) closing.push(drained ? egress.close() : egress.destroy());
  }
}
