import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.device/**', '.sst/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here: the multi-process suites start their own servers and agents.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
