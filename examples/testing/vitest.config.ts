// vitest settings for the example test files in examples/testing/vitest (see run.mjs).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['examples/testing/vitest/**/*.test.ts'],
    maxWorkers: 2,
  },
});
