/**
 * A concurrency limit with a bounded queue for the handler-based request
 * path (cockatiel's `BulkheadPolicy` wraps promises; here admission must be
 * synchronous so a full bulkhead fails fast on the calling tick, and a
 * queued request that is aborted leaves the queue at once).
 */
export class Bulkhead {
  readonly maxConcurrent: number;
  readonly maxPending: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];
  /** Requests refused since the bulkhead was made. */
  rejected = 0;

  constructor(maxConcurrent: number, maxPending: number) {
    this.maxConcurrent = maxConcurrent;
    this.maxPending = maxPending;
  }

  /** Requests holding a slot. */
  get active(): number {
    return this.#active;
  }
  /** Requests waiting for a slot. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Takes a slot now (returns 'run'), queues `resume` to run when one frees
   * (returns 'queued'), or refuses (returns 'rejected').
   */
  enter(resume: () => void): 'run' | 'queued' | 'rejected' {
    if (this.#active < this.maxConcurrent) {
      this.#active++;
      return 'run';
    }
    if (this.#queue.length < this.maxPending) {
      this.#queue.push(resume);
      return 'queued';
    }
    this.rejected++;
    return 'rejected';
  }

  /** Gives a slot back; the oldest queued request takes it. */
  release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#active--;
  }

  /** Removes a queued request that gave up. */
  leave(resume: () => void): void {
    const i = this.#queue.indexOf(resume);
    if (i >= 0) this.#queue.splice(i, 1);
  }
}
