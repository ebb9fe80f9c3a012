import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/sequencer.js';

// Every suite runs on the embedded PGlite; with DATABASE_URL set, the same suites run again on that
// PostgreSQL server (each file in its own database cloned from a migrated template).
const databases = ['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])];

export default defineConfig({
  test: {
    // Files mostly wait on servers, databases and child processes: two at a time on a two-core machine.
    maxWorkers: 2,
    // Longest files first, across both projects (see the file): the run's tail is short files, not a
    // long one on one worker while the other idles. Vitest's own duration order needs a cache CI lacks.
    sequence: { sequencer: LongestFirstSequencer },
    projects: databases.map((db) => ({
      test: {
        name: db,
        include: ['test/**/*.test.ts'],
        globalSetup: ['test/support/global-setup.ts'],
        // In-process apps hash new passwords at a low scrypt cost (see the file): sign-ups and sign-in
        // bursts were a large share of the suite's CPU time, and no test depends on the cost.
        setupFiles: ['test/support/cheap-password-hashes.ts'],
        env: { HOSTPLANE_TEST_DB: db },
        testTimeout: 30_000,
        hookTimeout: 60_000,
        pool: 'forks',
      },
    })),
  },
});
