import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Chaos tests: long-running, real sockets, endpoints killed and restarted. `npm run test:chaos`.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
