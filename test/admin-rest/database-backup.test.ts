import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, type TestApp } from '../support/test-app.js';

// POST /admin/v1/database/backup: the copy `hostplane db backup` asks a running server for when it
// holds the embedded data dir (ADR 26). The whole database leaves through it: operators only.
const onPostgres = process.env.HOSTPLANE_TEST_DB === 'postgres';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const backup = (headers: Record<string, string>) => t.app.server.inject({ method: 'POST', url: '/admin/v1/database/backup', headers });

async function backupEvents(): Promise<number> {
  const rows = await t.app.dbHandle.db.selectFrom('audit_events').select('id').where('action', '=', 'database.backup_taken').execute();
  return rows.length;
}

describe('POST /admin/v1/database/backup', () => {
  it.skipIf(onPostgres)('gives an operator a gzipped archive of the embedded data dir, and records who took it', async () => {
    const before = await backupEvents();
    const res = await backup({ authorization: `Bearer ${t.operatorKey}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { format: string; bytes: number; data: string };
    expect(body.format).toBe('pglite');
    const archive = Buffer.from(body.data, 'base64');
    expect(archive.length).toBe(body.bytes);
    const tar = gunzipSync(archive);
    // A ustar archive holding the cluster's files.
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
    expect(tar.includes(Buffer.from('PG_VERSION'))).toBe(true);
    expect(await backupEvents()).toBe(before + 1);
  });

  it.skipIf(!onPostgres)('on PostgreSQL answers 409 invalid_state: pg_dump reaches that database directly', async () => {
    const res = await backup({ authorization: `Bearer ${t.operatorKey}` });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'invalid_state', message: expect.stringContaining('pg_dump') } });
    expect(await backupEvents()).toBe(0);
  });

  it('refuses without an operator key, with a wrong one, and with a reseller\'s credentials (401), giving nothing away', async () => {
    const reseller = await createReseller(t);
    const before = await backupEvents();
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer hp_op_not-a-real-key' }, { authorization: reseller.auth }];
    for (const headers of attempts) {
      const res = await backup(headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'unauthenticated' } });
      expect(res.body).not.toContain('"data"');
    }
    expect(await backupEvents()).toBe(before);
  });
});
