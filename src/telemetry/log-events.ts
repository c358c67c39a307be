import type { Logger } from '../util/logger.js';
import type { ConfigEvent, HealthEvent, HealthEventType, MetricEvent } from './events.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** The level each health event is logged at: trouble is `warn`, recovery and churn `info`. */
export const HEALTH_LOG_LEVELS: Readonly<Record<HealthEventType, Level>> = Object.freeze({
  'endpoint-added': 'info',
  'endpoint-removed': 'info',
  'endpoint-healthy': 'info',
  'endpoint-unhealthy': 'warn',
  'endpoint-ejected': 'warn',
  'endpoint-restored': 'info',
  'circuit-open': 'warn',
  'circuit-half-open': 'info',
  'circuit-closed': 'info',
  panic: 'warn',
  'peer-identity-rejected': 'warn',
  'tls-updated': 'info',
  'tls-update-rejected': 'warn',
  'discovery-failed': 'warn',
  'discovery-recovered': 'info',
  'discovery-rejected': 'warn',
});

/** Metric events worth a log line (the per-request ones are not: use metrics for those). */
const METRIC_LOG_LEVELS: Partial<Record<MetricEvent['type'], Level>> = {
  'discovery-update': 'debug',
  'discovery-error': 'warn',
  'retry-budget-exhausted': 'debug',
};

/** Logs a control-side decision (health, config, discovery) through the client's logger. */
export function logEvent(logger: Logger, event: HealthEvent | ConfigEvent | MetricEvent, kind: 'health' | 'config' | 'metric'): void {
  let level: Level | undefined;
  if (kind === 'health') level = HEALTH_LOG_LEVELS[(event as HealthEvent).type];
  else if (kind === 'config') level = event.type === 'rejected' ? 'warn' : 'info';
  else level = METRIC_LOG_LEVELS[(event as MetricEvent).type];
  if (level === undefined) return;
  const e = event as { type: string; service: string; endpoint?: string; reason?: string; version?: number };
  let message = `proxyless: ${kind === 'config' ? 'config' : e.service} ${e.type}`;
  if (e.endpoint !== undefined) message += ` ${e.endpoint}`;
  if (e.version !== undefined) message += ` (version ${e.version})`;
  if (e.reason !== undefined) message += `: ${e.reason}`;
  logger[level]({ event }, message);
}
