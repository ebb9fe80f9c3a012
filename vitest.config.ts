import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/sequencer.js';

// Every suite runs on the embedded PGlite; with DATABASE_URL set, the same suites run again on that
// PostgreSQL server (each file in its own database cloned from a migrated template).
const databases = ['pglite', ...(process.env.DATABASE_URL ? ['postgres'] : [])];

// Files that do the same whatever the project: they open no database (codecs, wire formats, relay
// drivers, doors mounted on a stub core) or always the embedded one (its data-dir lock and template).
// Running them again with DATABASE_URL set would test nothing new, so only the first project runs
// them. A file that comes to depend on the project's database must leave this list.
const SAME_ON_EVERY_DATABASE = [
  'test/core/captcha.test.ts',
  'test/core/domain-rules.test.ts',
  'test/core/packages.test.ts',
  'test/db/data-dir-lock.test.ts',
  'test/db/pglite-template.test.ts',
  'test/ha/haproxy-timeouts.test.ts',
  'test/http/close-drain.test.ts',
  'test/jobs/backoff.test.ts',
  'test/core/crypt-passwords.test.ts',
  'test/core/domain-name.test.ts',
  'test/core/version.test.ts',
  'test/facades/apiscp/cli-syntax.test.ts',
  'test/facades/apiscp/soap-codec.test.ts',
  'test/facades/apiscp/soap-php.test.ts',
  'test/facades/apiscp/yaml-output.test.ts',
  'test/facades/odoo-rpc/odoo-domain.test.ts',
  'test/facades/odoo-rpc/odoo-rpc-transport.test.ts',
  'test/facades/odoo-rpc/odoo-rpc.errors.test.ts',
  'test/facades/odoo-rpc/xmlrpc-codec.test.ts',
  'test/relay/create-relay-driver.test.ts',
  'test/relay/http.test.ts',
  'test/relay/postfix-maps.test.ts',
];

export default defineConfig({
  test: {
    // Files mostly wait on servers, databases and child processes: three at a time keep a two-core
    // machine's CPU busy (under 2 % idle through a whole run). With the database-independent files
    // run once, the whole run went from 34 minutes with two to 23 with three.
    maxWorkers: 3,
    // Longest files first, across both projects (see the file): the run's tail is short files, not a
    // long one on one worker while the other idles. Vitest's own duration order needs a cache CI lacks.
    sequence: { sequencer: LongestFirstSequencer },
    projects: databases.map((db) => ({
      test: {
        name: db,
        include: ['test/**/*.test.ts'],
        exclude: db === 'pglite' ? [] : SAME_ON_EVERY_DATABASE,
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
