// vitest settings for the example test files in examples/testing/vitest (see run.mjs).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const withResilience = process.env.MESHLET_EXAMPLES_RESILIENCE === '1';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['examples/testing/vitest/**/*.test.ts'],
    exclude: withResilience ? [] : ['**/*.resilience.test.ts'],
    maxWorkers: 2,
  },
});
