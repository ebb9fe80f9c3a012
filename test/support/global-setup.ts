import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb, migrateToLatest } from '../../src/db/database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    postgresTemplate: string;
  }
}

function adminUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Migrates once per run; every test file then starts from a copy instead of running initdb itself. */
export default async function setup(project: TestProject) {
  const which = project.config.env?.HOSTPLANE_TEST_DB ?? 'pglite';
  if (which === 'pglite') {
    const handle = await createDb({});
    await migrateToLatest(handle.db);
    const dump = await handle.pglite!.dumpDataDir('none');
    await handle.close();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-test-')), 'template.tar');
    fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
    project.provide('pgliteTemplate', file);
    project.provide('postgresTemplate', '');
    return () => fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }

  const url = process.env.DATABASE_URL!;
  const template = `hostplane_tmpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${template}`);
  const handle = await createDb({ databaseUrl: adminUrl(url, template), poolSize: 1 });
  await migrateToLatest(handle.db);
  await handle.close();
  project.provide('postgresTemplate', template);
  project.provide('pgliteTemplate', '');
  return async () => {
    const { rows } = await admin.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [`hostplane_t_${process.pid}_%`]);
    for (const { datname } of rows) await admin.query(`drop database if exists ${datname} with (force)`);
    await admin.query(`drop database if exists ${template} with (force)`);
    await admin.end();
  };
}
