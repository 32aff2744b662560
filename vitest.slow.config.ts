import { defineConfig } from 'vitest/config';

// The slow suite: end-to-end training runs, browser tests and long checks.
export default defineConfig({
  test: {
    include: ['test/**/*.slow.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
