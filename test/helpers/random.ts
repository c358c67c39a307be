/** The kit's seeded PRNG (mulberry32), for statistical tests that must never flake. */
export { seededRandom } from '../../src/testing/random.js';
