/** The statistics the benchmark reports: medians, their confidence intervals, percentiles, a slope. */

/** A median with its 95% confidence interval and the range of the values. */
export interface Estimate {
  median: number;
  low: number;
  high: number;
  min: number;
  max: number;
  n: number;
}

/** The median of `values` (NaN when empty). */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median of `values` with a distribution-free confidence interval: the k-th smallest and k-th largest
 * value, k the largest rank with P(fewer than k values below the true median) ≤ (1 − confidence) / 2 under
 * Binomial(n, ½) (the sign-test interval). Its coverage is at least `confidence` whatever the distribution;
 * with too few values for that (fewer than 6 at 95%) it is the whole range.
 */
export function estimate(values: readonly number[], confidence = 0.95): Estimate {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { median: Number.NaN, low: Number.NaN, high: Number.NaN, min: Number.NaN, max: Number.NaN, n };
  const tail = (1 - confidence) / 2;
  let k = 0;
  let below = 0;
  let term = 0.5 ** n;
  for (let j = 0; j < n; j++) {
    below += term;
    if (below > tail) break;
    k = j + 1;
    term = (term * (n - j)) / (j + 1);
  }
  const rank = Math.max(1, k);
  return { median: median(sorted), low: sorted[rank - 1]!, high: sorted[n - rank]!, min: sorted[0]!, max: sorted[n - 1]!, n };
}

/** The `p`-th percentile (0..100) of an ascending-sorted array, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Least-squares slope of y over x (0 with fewer than two points). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
