import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { createDb, migrateToLatest } from './database.js';
import { migrationProvider } from './migrations/index.js';
import { writeTemplate } from './pglite-template.js';

/** Writes the template a new embedded data dir starts from: initdb and every migration, no data. */
export async function buildTemplate(file: string): Promise<void> {
  const handle = await createDb({});
  try {
    await migrateToLatest(handle.db);
    // A checkpoint first, so a data dir made from the dump has no WAL to replay when it first starts.
    await sql`checkpoint`.execute(handle.db);
    const dump = await handle.pglite!.dumpDataDir('gzip');
    const names = Object.keys(await migrationProvider.getMigrations()).sort();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeTemplate(file, Buffer.from(await dump.arrayBuffer()), names[names.length - 1]!);
  } finally {
    await handle.close();
  }
}
