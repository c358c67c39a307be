import { debuglog } from 'node:util';

/**
 * A pino-style logger: each method takes an object of fields and a message.
 * pino, bunyan-like and console-backed loggers fit. meshlet is silent unless
 * one is given (or `NODE_DEBUG=meshlet` is set).
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
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
