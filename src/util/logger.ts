import { debuglog } from 'node:util';

/**
 * A pino-style logger: each method takes an object of fields and a message.
 * pino, bunyan-like and console-backed loggers fit. meshlet is silent unless
 * one is given (or `NODE_DEBUG=meshlet` is set).
 */
export interface Logger {
  /** Detailed decisions, for debugging. */
  debug(fields: object, message: string): void;
  /** Notable state changes. */
  info(fields: object, message: string): void;
  /** Something is off but the mesh carries on. */
  warn(fields: object, message: string): void;
  /** A failure the operator should see (e.g. an observer that throws). */
  error(fields: object, message: string): void;
}

const channel = debuglog('meshlet');

/** The default logger: writes through `NODE_DEBUG=meshlet` and is otherwise silent. */
export const debugLogger: Logger = {
  debug: (fields, message) => channel('%s %j', message, fields),
  info: (fields, message) => channel('%s %j', message, fields),
  warn: (fields, message) => channel('%s %j', message, fields),
  error: (fields, message) => channel('%s %o', message, fields),
};

/**
 * A per-component debug channel, like grpc-js tracers: enabled with
 * `NODE_DEBUG=meshlet:<component>` (or `NODE_DEBUG=meshlet*`).
 */
export function debugChannel(component: string): (format: string, ...args: unknown[]) => void {
  return debuglog(`meshlet:${component}`);
}
