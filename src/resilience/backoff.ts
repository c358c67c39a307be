/**
 * The delay before retry number `retry` (0 for the first retry): exponential
 * backoff with "full jitter" (AWS Architecture Blog, 2015), a uniformly
 * random delay in `[0, min(maxMs, baseMs * 2^retry))`.
 */
export function fullJitterDelay(baseMs: number, maxMs: number, retry: number, random: () => number): number {
  const bound = Math.min(maxMs, baseMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * bound);
}

/**
 * Parses a `Retry-After` header (delay-seconds or an HTTP date) into
 * milliseconds from `wallNow`; `undefined` when absent or unparsable.
 */
export function parseRetryAfter(value: string | string[] | undefined, wallNow: number): number | undefined {
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - wallNow);
}
