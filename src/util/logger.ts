import { debuglog } from 'node:util';

/**
 * A pino-style logger: each method takes an object of fields and a message.
 * pino, bunyan-like and console-backed loggers fit. proxyless is silent unless
 * one is given (or `NODE_DEBUG=proxyless` is set).
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

const channel = debuglog('proxyless');

/** The default logger: writes through `NODE_DEBUG=proxyless` and is otherwise silent. */
export const debugLogger: Logger = {
  debug: (fields, message) => channel('%s %j', message, fields),
  info: (fields, message) => channel('%s %j', message, fields),
  warn: (fields, message) => channel('%s %j', message, fields),
  error: (fields, message) => channel('%s %o', message, fields),
};

/**
 * A per-component debug channel, like grpc-js tracers: enabled with
 * `NODE_DEBUG=proxyless:<component>` (or `NODE_DEBUG=proxyless*`).
 */
export function debugChannel(component: string): (format: string, ...args: unknown[]) => void {
  return debuglog(`proxyless:${component}`);
}
