/**
 * "Did you mean" for config errors: the known name closest to a misspelt
 * one by edit distance (optimal string alignment: insertions, deletions,
 * substitutions and adjacent swaps cost 1; case is ignored), or undefined
 * when none is close enough to be a plausible typo (a third of the longer
 * name, at least 1, at most 3 edits).
 */
export function closestName(input: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const a = input.toLowerCase();
  for (const name of known) {
    const d = editDistance(a, name.toLowerCase());
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(a.length, name.length) / 3)));
    if (d <= limit && d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The message for a key an object does not accept: the closest known key
 * when there is one (`unknown option "timout" (did you mean "timeout"?)`),
 * else the whole list. `context` follows the name (`for ring-hash`).
 */
export function unknownOptionMessage(key: string, known: readonly string[], context?: string): string {
  const what = context === undefined ? `unknown option "${key}"` : `unknown option "${key}" ${context}`;
  const near = closestName(key, known);
  return near === undefined ? `${what} (expected one of: ${known.join(', ')})` : `${what} (did you mean "${near}"?)`;
}

function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}
