import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // Suites that mount overlays and start containers share host state (mounts, loop devices); run files one at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
