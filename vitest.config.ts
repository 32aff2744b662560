import { defineConfig } from 'vitest/config';

// The fast suite: `npm test`. Tests that need more than a few seconds live in files named
// `*.slow.test.ts` and run with `npm run test:slow` (vitest.slow.config.ts).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.slow.test.ts', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
