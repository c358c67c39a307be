/**
 * A seeded pseudo-random source in [0, 1) (mulberry32): the same seed gives
 * the same sequence on every run and platform, so a test's balancing,
 * splitting and jitter decisions are reproducible.
 *
 * @param seed - any integer; the kit's default is 1
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random source whose every block of `period` consecutive draws holds
 * exactly the values `(i + 0.5) / period` for i = 0..period-1, in a seeded
 * shuffled order. A weighted choice that takes one draw per request (a
 * route's split) then comes out exact: with a 90/10 split and `period` 100,
 * any 1,000 consecutive requests give exactly 900 and 100, while the order
 * still looks random. Blocks count from the first draw: anything else that
 * draws (a config update creates balancers, which draw a start offset)
 * shifts them, so count whole blocks between such events.
 *
 * @param period - block length; choose a multiple of the weights' denominator
 * @param seed - seeds the shuffle of each block
 */
export function stratifiedRandom(period = 100, seed = 1): () => number {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`period must be an integer >= 1, got ${String(period)}`);
  const shuffle = seededRandom(seed);
  const block: number[] = [];
  let i = period;
  return () => {
    if (i >= period) {
      block.length = 0;
      for (let k = 0; k < period; k++) block.push((k + 0.5) / period);
      for (let k = period - 1; k > 0; k--) {
        const j = Math.floor(shuffle() * (k + 1));
        const t = block[k]!;
        block[k] = block[j]!;
        block[j] = t;
      }
      i = 0;
    }
    return block[i++]!;
  };
}

/** A stable 32-bit hash of a string (FNV-1a), to derive per-endpoint seeds. */
export function hashSeed(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
