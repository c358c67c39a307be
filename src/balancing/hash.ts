/**
 * Hashing for the consistent-hash balancers: MurmurHash3 (x86, 32-bit) over
 * the UTF-16 code units of a string range, so a key can be hashed in place
 * without slicing (no allocation on the request path). Keys in ASCII hash
 * exactly like MurmurHash3 over their bytes with each byte widened to 16 bits;
 * the value is stable across processes and versions of proxyless, which is what
 * session affinity between several clients needs.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3's 32-bit finaliser: a fast, well-mixing bijection on uint32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes `s` from `start` (inclusive) to `end` (exclusive) with `seed`; returns a uint32. */
export function hashString(s: string, seed = 0, start = 0, end = s.length): number {
  let h = seed >>> 0;
  let i = start;
  // Two UTF-16 code units per 32-bit block.
  for (; i + 1 < end; i += 2) {
    let k = (s.charCodeAt(i) & 0xffff) | ((s.charCodeAt(i + 1) & 0xffff) << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < end) {
    let k = s.charCodeAt(i) & 0xffff;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= (end - start) * 2;
  return fmix32(h);
}
