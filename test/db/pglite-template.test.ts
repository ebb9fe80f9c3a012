import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrateDatabase } from '../../src/db/database.js';
import { migrationProvider } from '../../src/db/migrations/index.js';
import { buildTemplate } from '../../src/db/pglite-template-build.js';
import { copyTemplateTo, pgliteVersion, untar } from '../../src/db/pglite-template.js';

// The template a new embedded data dir starts from (serve and worker): the build writes it, a first
// start copies it into place before PGlite opens the directory.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostplane-template-'));
const file = path.join(tmp, 'template.tar.gz');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await buildTemplate(file);
}, 120_000);

function fresh(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  return dir;
}

/** A one-entry ustar archive, enough to hand the extractor a name of our choosing. */
function tarOf(name: string, body: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write(`${Buffer.byteLength(body).toString(8).padStart(11, '0')}\0`, 124);
  header.write('0', 156);
  header.write('ustar\0', 257);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  data.write(body);
  return Buffer.concat([header, data, Buffer.alloc(1024)]);
}

describe('embedded database template', () => {
  it('makes a new data dir a migrated database that needs no migration and keeps what is written to it', async () => {
    const dir = fresh('new');
    const handle = await createDb({ dataDir: dir, fillNewDataDir: (d) => copyTemplateTo(d, file) });
    try {
      expect(fs.existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);
      expect(await migrateDatabase(handle)).toEqual([]);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from hostplane_migrations`.execute(handle.db);
      expect(rows[0]!.n).toBe(Object.keys(await migrationProvider.getMigrations()).length);
      await sql`insert into settings (key, value) values ('template-test', 'kept')`.execute(handle.db);
    } finally {
      await handle.close();
    }
    expect(fs.existsSync(`${dir}.template-tmp`)).toBe(false);

    // A data dir that holds a database is opened as it is: the template is never copied over it.
    const again = await createDb({ dataDir: dir, fillNewDataDir: () => Promise.reject(new Error('must not be called')) });
    try {
      const { rows } = await sql<{ value: unknown }>`select value from settings where key = 'template-test'`.execute(again.db);
      expect(rows).toEqual([{ value: 'kept' }]);
    } finally {
      await again.close();
    }
  }, 60_000);

  it('is not used when another PGlite release wrote it or it holds a migration this tree does not know', async () => {
    const meta = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as { pglite: string; migration: string };
    expect(meta.pglite).toBe(pgliteVersion());
    const other = path.join(tmp, 'other.tar.gz');
    fs.copyFileSync(file, other);
    for (const wrong of [{ ...meta, pglite: '0.0.1' }, { ...meta, migration: '9999-from-the-future' }]) {
      fs.writeFileSync(`${other}.json`, JSON.stringify(wrong));
      const dir = fresh(`wrong-${wrong.pglite}`);
      expect(await copyTemplateTo(dir, other)).toBe(false);
      expect(fs.readdirSync(dir)).toEqual([]);
    }
    expect(await copyTemplateTo(fresh('missing'), path.join(tmp, 'none.tar.gz'))).toBe(false);
  });

  it('writes every archive entry inside the data dir, whatever its name says', () => {
    const dir = fresh('escape');
    untar(tarOf('../../outside', 'x'), dir);
    expect(fs.existsSync(path.join(tmp, 'outside'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'outside'), 'utf8')).toBe('x');
    untar(tarOf('/inside/file', 'hello'), dir);
    expect(fs.readFileSync(path.join(dir, 'inside', 'file'), 'utf8')).toBe('hello');
  });
});
