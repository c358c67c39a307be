/** How a scripted endpoint fails a call, named after what a real network does. */
export type FailureKind =
  /** The connection is refused (`ECONNREFUSED`): nothing was sent. */
  | 'connect-refused'
  /** Connecting takes too long (undici's `UND_ERR_CONNECT_TIMEOUT`): nothing was sent. */
  | 'connect-timeout'
  /** The connection is reset after the request was sent (`ECONNRESET`). */
  | 'reset'
  /** No response headers in time (undici's `UND_ERR_HEADERS_TIMEOUT`). */
  | 'timeout';

/** A body for a scripted reply: text, bytes, or a value sent as JSON (with `content-type: application/json`). */
export type ReplyBody = string | Uint8Array | object | null | undefined;

/** A scripted response. */
export interface ReplyStep {
  /** The HTTP status. */
  status: number;
  /** The response body; objects are sent as JSON. */
  body?: ReplyBody;
  /** Response headers. */
  headers?: Record<string, string>;
  /** Test-clock milliseconds before the response headers arrive. Default 0. */
  delayMs?: number;
}

/** A scripted transport failure. */
export interface FailStep {
  /** What goes wrong: a {@link FailureKind} or the very error to report. */
  fail: FailureKind | Error;
  /** Test-clock milliseconds before the failure happens. Default 0. */
  delayMs?: number;
}

/** A call that never gets an answer until the mesh gives up on it (aborts it, e.g. a per-try timeout). */
export interface HangStep {
  /** Discriminant. */
  hang: true;
}

/** Hand the call to the kit's `MockAgent` (its interceptors for this origin answer it). */
export interface PassthroughStep {
  /** Discriminant. */
  passthrough: true;
  /** Test-clock milliseconds before the call is handed over. Default 0. */
  delayMs?: number;
}

/** What a scripted endpoint does with one call. */
export type Step = ReplyStep | FailStep | HangStep | PassthroughStep;

/** Shorthand accepted wherever a {@link Step} is: a status code, or a failure kind. */
export type StepInput = Step | number | FailureKind;

/** Turns a {@link StepInput} into a {@link Step}. */
export function toStep(input: StepInput): Step {
  if (typeof input === 'number') return { status: input };
  if (typeof input === 'string') return { fail: input };
  return input;
}

/** A short description of a step, for call records and messages. */
export function describeStep(step: Step): string {
  if ('status' in step) return String(step.status);
  if ('fail' in step) return typeof step.fail === 'string' ? step.fail : step.fail.name;
  if ('hang' in step) return 'hang';
  return 'passthrough';
}

/**
 * A latency model: a fixed number of milliseconds, a uniform range, a
 * discrete distribution (`[{ ms: 5, weight: 90 }, { ms: 250, weight: 10 }]`),
 * or a function of a seeded random source in [0, 1).
 */
export type LatencyModel = number | LatencyRange | readonly LatencyBucket[] | ((random: () => number) => number);

/** A uniform latency range of a {@link LatencyModel}. */
export interface LatencyRange {
  /** Shortest latency in milliseconds. */
  min: number;
  /** Longest latency in milliseconds. */
  max: number;
}

/** One bucket of a discrete {@link LatencyModel}. */
export interface LatencyBucket {
  /** The latency in milliseconds. */
  ms: number;
  /** Relative frequency of this latency. */
  weight: number;
}

/** Draws one latency from a {@link LatencyModel}. */
export function sampleLatency(model: LatencyModel, random: () => number): number {
  if (typeof model === 'number') return model;
  if (typeof model === 'function') return Math.max(0, model(random));
  if (Array.isArray(model)) {
    const buckets = model as readonly LatencyBucket[];
    const total = buckets.reduce((a, b) => a + b.weight, 0);
    let draw = random() * total;
    for (const b of buckets) {
      if (draw < b.weight) return b.ms;
      draw -= b.weight;
    }
    return buckets[buckets.length - 1]?.ms ?? 0;
  }
  const range = model as LatencyRange;
  return range.min + random() * (range.max - range.min);
}
