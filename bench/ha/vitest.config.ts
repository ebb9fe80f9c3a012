import { defineConfig } from 'vitest/config';

// `npm run bench:ha` (bench/ha/ha.bench-run.ts): vitest only runs it, as it runs the HA suite whose
// harness it shares (test/ha/); it is not part of `npm test`.
export default defineConfig({
  test: {
    include: ['bench/ha/*.bench-run.ts'],
    env: { HOSTPLANE_TEST_DB: 'postgres' },
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
