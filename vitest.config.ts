import { defineConfig } from 'vitest/config';

// Every suite runs on the embedded PGlite; with DATABASE_URL set, the same suites run again on that
// PostgreSQL server (each file in its own database cloned from a migrated template).
const databases = ['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])];

export default defineConfig({
  test: {
    // Files mostly wait on servers, databases and child processes: two at a time on a two-core machine.
    maxWorkers: 2,
    projects: databases.map((db) => ({
      test: {
        name: db,
        include: ['test/**/*.test.ts'],
        globalSetup: ['test/support/global-setup.ts'],
        env: { HOSTPLANE_TEST_DB: db },
        testTimeout: 30_000,
        hookTimeout: 60_000,
        pool: 'forks',
      },
    })),
  },
});
