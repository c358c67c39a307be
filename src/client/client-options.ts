import type { Dispatcher } from 'undici';
import { checkObject } from '../util/checks.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import type { MeshClientOptions } from '../config/types.js';
import { describe } from '../util/describe.js';
import { MeshConfigError, type ConfigIssue } from '../errors/mesh-error.js';
import type { Observer } from '../telemetry/events.js';
import { checkTelemetry, type ResolvedTelemetry } from '../telemetry/options.js';
import { systemClock, type Clock } from '../util/clock.js';
import { debugLogger, type Logger } from '../util/logger.js';

/** The client options that are not configuration (code, not data: they cannot come from a config file). */
const CLIENT_KEYS = ['observers', 'logger', 'random', 'clock', 'transport', 'telemetry'] as const;

/** The options of a {@link MeshClient}, checked: what its constructor builds the mesh from. */
export interface CheckedOptions {
  readonly config: ResolvedConfig;
  readonly observers: Observer[];
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
  readonly telemetry: ResolvedTelemetry;
  /** The user's `transport`, as given (not bridged yet). */
  readonly transport: ((origin: string) => Dispatcher) | undefined;
}

/**
 * Checks the client options and resolves the configuration in them.
 * Throws {@link MeshConfigError} listing every problem at once.
 */
export function checkClientOptions(options: MeshClientOptions): CheckedOptions {
  const issues: ConfigIssue[] = [];
  const raw = checkObject(options, '', issues);
  if (!raw) throw new MeshConfigError(issues);
  const observers = checkObservers(raw.observers, issues);
  const logger = checkLogger(raw.logger, issues);
  if (raw.random !== undefined && typeof raw.random !== 'function') {
    issues.push({ path: 'random', message: `expected a function returning [0, 1), found ${describe(raw.random)}` });
  }
  const clock = checkClock(raw.clock, issues);
  const telemetry = checkTelemetry(raw.telemetry, issues);
  if (raw.transport !== undefined && typeof raw.transport !== 'function') {
    issues.push({ path: 'transport', message: `expected a function (origin) => Dispatcher, found ${describe(raw.transport)}` });
  }
  let config: ResolvedConfig | undefined;
  try {
    config = resolveConfig(options, CLIENT_KEYS);
  } catch (error) {
    if (!(error instanceof MeshConfigError)) throw error;
    issues.push(...error.issues);
  }
  if (issues.length > 0 || !config) throw new MeshConfigError(issues);
  return {
    config,
    observers,
    logger,
    clock,
    random: (raw.random as (() => number) | undefined) ?? Math.random,
    telemetry,
    transport: raw.transport as ((origin: string) => Dispatcher) | undefined,
  };
}

function checkObservers(value: unknown, issues: ConfigIssue[]): Observer[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.push({ path: 'observers', message: `expected an array of observers, found ${describe(value)}` });
    return [];
  }
  const out: Observer[] = [];
  value.forEach((o, i) => {
    const path = `observers.${i}`;
    if (typeof o !== 'object' || o === null) {
      issues.push({ path, message: `expected an object with onHealth/onMetric/onConfig, found ${describe(o)}` });
      return;
    }
    for (const key of ['onHealth', 'onMetric', 'onConfig'] as const) {
      const fn = (o as Record<string, unknown>)[key];
      if (fn !== undefined && typeof fn !== 'function') {
        issues.push({ path: `${path}.${key}`, message: `expected a function, found ${describe(fn)}` });
      }
    }
    out.push(o as Observer);
  });
  return out;
}

function checkLogger(value: unknown, issues: ConfigIssue[]): Logger {
  if (value === undefined) return debugLogger;
  if (typeof value !== 'object' || value === null) {
    issues.push({ path: 'logger', message: `expected a logger with debug/info/warn/error, found ${describe(value)}` });
    return debugLogger;
  }
  for (const key of ['debug', 'info', 'warn', 'error']) {
    if (typeof (value as Record<string, unknown>)[key] !== 'function') {
      issues.push({ path: `logger.${key}`, message: 'expected a function' });
    }
  }
  return value as Logger;
}

function checkClock(value: unknown, issues: ConfigIssue[]): Clock {
  if (value === undefined) return systemClock;
  if (typeof value !== 'object' || value === null) {
    issues.push({ path: 'clock', message: `expected a clock object, found ${describe(value)}` });
    return systemClock;
  }
  for (const key of ['now', 'wallNow', 'setTimeout', 'clearTimeout']) {
    if (typeof (value as Record<string, unknown>)[key] !== 'function') {
      issues.push({ path: `clock.${key}`, message: 'expected a function' });
    }
  }
  return value as Clock;
}
