import type { Migration, MigrationProvider } from 'kysely';
import { initial } from './0001-initial.js';
import { jobs } from './0002-jobs.js';

const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-jobs': jobs,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
