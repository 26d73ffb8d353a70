import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds every plugin and fixture from source once (incremental) before any suite runs.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Suites start real servers and measure timing bounds: keep them off each other's cores.
    fileParallelism: false,
  },
});
