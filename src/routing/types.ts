import type { FaultSpec } from '../config/faults.js';

/** How a string (a header or query value, a method) is matched. A bare string means `{ exact }`. */
export type StringMatch =
  | string
  | {
      /** The value equals this. */
      exact: string;
    }
  | {
      /** The whole value matches this regular expression. */
      regex: string;
    }
  | {
      /** The value is present (true) or absent (false). */
      present: boolean;
    };

/** How the request path (without the query string) is matched. */
export type PathMatch =
  | {
      /** The path equals this. */
      exact: string;
    }
  | {
      /** The path starts with this. */
      prefix: string;
    }
  | {
      /** The whole path matches this regular expression. */
      regex: string;
    };

/** The conditions of a route; all given conditions must hold. An empty match matches every request. */
export interface RouteMatch {
  /** The path, without the query string. */
  path?: PathMatch;
  /** One method or a list (upper-case). */
  method?: string | string[];
  /** Request headers by name (case-insensitive names). */
  headers?: Record<string, StringMatch>;
  /** Query parameters by name (the first value when repeated). */
  query?: Record<string, StringMatch>;
}

/**
 * One weighted destination of a route: a subset of this service's endpoints
 * chosen by labels, another service, or (with neither) the whole service.
 */
export interface SplitDestination {
  /** Relative share, a finite number >= 0. The weights of a split must sum to more than 0. */
  weight: number;
  /** Endpoints whose labels include all of these, e.g. `{ version: 'v2' }`. */
  subset?: Record<string, string>;
  /** Another configured service, e.g. for a migration. */
  service?: string;
}

/** A routing rule of a service: the first route whose `match` holds decides where a request goes. */
export interface Route {
  /** A name for telemetry and the snapshot. Default `route-<index>`. */
  name?: string;
  /** When the route applies. Default: always. */
  match?: RouteMatch;
  /** Where matching requests go, split by weight. */
  split: SplitDestination[];
  /** Fault injection for requests this route matches: replaces the service's `faults`; `false` turns them off here. */
  faults?: FaultSpec | false;
}

/** Ramp-up of the weight of newly added endpoints, so a cold instance is not flooded. */
export interface SlowStartOptions {
  /** How long the ramp lasts, in milliseconds. */
  windowMs: number;
  /** The weight a new endpoint starts at, in percent of its configured weight. Default 10. */
  minWeightPercent?: number;
}
