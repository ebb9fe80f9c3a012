import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctxFor } from '../../src/core/context.js';
import { pushInstanceUsersHandler } from '../../src/core/saas/instance-users.js';
import { createNode, type ControlPlane, type NodeCreated } from '../agent/agent-harness.js';
import { waitFor } from '../jobs-process/process-harness.js';
import { pgAdmin, startInstanceWorld, type Instance, type InstanceWorld } from './instance-world.js';

/*
 * Stored files moving into the instance's own database (docs/adr/0027, addendum), end to end: a
 * control plane on a real port, a real `hostplane agent` (role db) driving the machine's PostgreSQL,
 * instances made by the portal's create_new_database from an Odoo-shaped template. A file stored at
 * Hostplane's door is staged, fetched by the node holding the database, inserted into its
 * ir_attachment, and then no longer held by Hostplane. Every database and role made here is dropped.
 */

let w: InstanceWorld;
let cp: ControlPlane;

const admin = pgAdmin;




interface Overview {
  files: { source: string; count: number; bytes: number; staged: number };
  usage: { used_bytes: number; used_mb: number; limit_mb: number };
  database: { status: string; size_bytes: number | null; sampled_at: string | null; files: { count: number; bytes: number } | null } | null;
}

const overview = (id: number) => w.overview<Overview>(id);
const untilOverview = (id: number, ok: (o: Overview) => boolean, what: string) => w.untilOverview<Overview>(id, ok, what);

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return waitFor(probe, 60_000, () => `${what}\n${w.agent.output().slice(-3000)}`, 200);
}

interface Attachment {
  id: number;
  name: string;
  type: string;
  store_fname: string | null;
  file_size: number;
  checksum: string;
  mimetype: string;
  res_model: string | null;
  res_id: number | null;
  db_datas: Buffer;
  index_content: string | null;
  create_uid: number | null;
  company_id: number | null;
}

/** The attachments of `db` carrying Hostplane's external id for file `fileId`. */
async function attachmentsOf(db: string, fileId: number): Promise<Attachment[]> {
  return admin<Attachment>(
    `select a.id, a.name, a.type, a.store_fname, a.file_size, a.checksum, a.mimetype, a.res_model, a.res_id, a.db_datas, a.index_content, a.create_uid, a.company_id
     from ir_attachment a join ir_model_data d on d.res_id = a.id and d.model = 'ir.attachment'
     where d.module = 'hostplane' and d.name = $1`,
    [`instance_file_${fileId}`],
    db,
  );
}

interface FileRow {
  id: number;
  content: Buffer | null;
  moved_at: Date | null;
  sha256: string | null;
  size_bytes: number;
}

async function fileRow(id: number): Promise<FileRow | undefined> {
  return cp.app().deps.db.selectFrom('instance_files').select(['id', 'content', 'moved_at', 'sha256', 'size_bytes']).where('id', '=', id).executeTakeFirst() as Promise<FileRow | undefined>;
}

async function fileCount(clientId: number): Promise<number> {
  const r = await cp.app().deps.db.selectFrom('instance_files').select((eb) => eb.fn.countAll<string>().as('n')).where('client_id', '=', clientId).executeTakeFirstOrThrow();
  return Number(r.n);
}

async function objectOf(clientId: number): Promise<{ version: number; spec: { files?: { id: number }[] } }> {
  const row = await cp.app().deps.db.selectFrom('node_objects').select(['version', 'spec']).where('object_id', '=', `db${clientId}`).executeTakeFirstOrThrow();
  return { version: Number(row.version), spec: row.spec as { files?: { id: number }[] } };
}

async function store(id: number, name: string, content: Buffer) {
  return cp.admin<{ id: number; usage: Overview['usage']; error?: { code: string; message: string } }>('POST', `/admin/v1/clients/${id}/files`, { name, content_base64: content.toString('base64') });
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** What the db node's agent holds as its own token. */
function agentToken(): string {
  return (JSON.parse(fs.readFileSync(path.join(w.agent.dataDir, 'credentials.json'), 'utf8')) as { token: string }).token;
}

async function fetchFile(token: string | undefined, id: string) {
  const res = await fetch(`${cp.url}/agent/v1/files/${id}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

async function enrol(n: NodeCreated): Promise<string> {
  const res = await fetch(`${cp.url}/agent/v1/enrol`, { method: 'POST', headers: { authorization: `Bearer ${n.token}`, 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

async function stopAgent(): Promise<void> {
  w.agent.child.kill('SIGKILL');
  await w.agent.exited;
}

async function restartAgent(): Promise<void> {
  if (w.agent.alive()) await stopAgent();
  await w.startAgent();
}

let planUid: string;
let a: Instance;
let b: Instance;
let c: Instance;

beforeAll(async () => {
  w = await startInstanceWorld('f');
  cp = w.cp;
  const bareDb = await w.database('bare', 'create table notes (id serial primary key, body text)');
  planUid = `odoo-${w.prefix}`;
  const plan = await w.createPlan(planUid, w.template, 10);
  const bare = await w.createPlan(`bare-${w.prefix}`, bareDb, 10);
  a = await w.createInstance(plan, w.host('a'));
  b = await w.createInstance(plan, w.host('b'));
  c = await w.createInstance(bare, w.host('c'));
  // The files move once each database has reported its ir_attachment (the bare one has none).
  await untilOverview(a.id, (o) => o.files.source === 'instance_database', 'a reported');
  await untilOverview(b.id, (o) => o.files.source === 'instance_database', 'b reported');
  await untilOverview(c.id, (o) => o.database?.sampled_at != null, 'c reported');
}, 240_000);

afterAll(() => w?.close(), 120_000);

describe('a file stored at the door moves into ir_attachment', () => {
  let pdfId: number;
  let pdf: Buffer;

  it("lands in the instance's ir_attachment in Odoo's shape, and Hostplane no longer holds its content", async () => {
    pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(40_000)]);
    const text = Buffer.from('Quarterly report\nrevenue up; costs down\n\u0001\u0002ok\n');
    const r1 = await store(a.id, 'report.pdf', pdf);
    expect(r1.status, JSON.stringify(r1.body)).toBe(201);
    const r2 = await store(a.id, 'notes.txt', text);
    expect(r2.status, JSON.stringify(r2.body)).toBe(201);
    pdfId = r1.body.id;

    const row = await until('pdf in ir_attachment', async () => (await attachmentsOf(a.db, pdfId))[0]);
    const [adminUser] = await admin<{ id: number; company_id: number }>("select id, company_id from res_users where login = 'admin'", [], a.db);
    expect(Buffer.compare(row!.db_datas, pdf)).toBe(0);
    expect(row).toMatchObject({ name: 'report.pdf', type: 'binary', store_fname: null, file_size: pdf.length, checksum: sha1(pdf), mimetype: 'application/pdf', res_model: null, res_id: null, index_content: null, create_uid: adminUser!.id, company_id: adminUser!.company_id });
    const txt = await until('text in ir_attachment', async () => (await attachmentsOf(a.db, r2.body.id))[0]);
    expect(Buffer.compare(txt!.db_datas, text)).toBe(0);
    expect(txt).toMatchObject({ mimetype: 'text/plain', checksum: sha1(text), index_content: 'Quarterly report\nrevenue up; costs down' });

    // The node's result named them: Hostplane clears the content, keeps the row as the record.
    const moved = await until('content cleared', async () => {
      const f = await fileRow(pdfId);
      return f?.content === null ? f : undefined;
    });
    expect(moved.moved_at).toBeInstanceOf(Date);
    expect(moved.size_bytes).toBe(pdf.length);
    await until('text cleared', async () => ((await fileRow(r2.body.id))?.content === null ? true : undefined));
    await until('spec without files', async () => ((await objectOf(a.id)).spec.files === undefined ? true : undefined));

    // The report then shows them in the database; staged none.
    const o = await untilOverview(a.id, (x) => x.files.count === 4, 'report shows 4 attachments');
    expect(o.files).toEqual({ source: 'instance_database', count: 4, bytes: 5096 + pdf.length + text.length, staged: 0 });
  });

  it('counts a moved file once: in the database size measured after the move, not again from Hostplane', async () => {
    // Every file of a has moved: a sample taken after the last move holds them all.
    const rows = await cp.app().deps.db.selectFrom('instance_files').select(['moved_at', 'content']).where('client_id', '=', a.id).execute();
    expect(rows.every((r) => r.content === null)).toBe(true);
    const last = Math.max(...rows.map((r) => r.moved_at!.getTime()));
    const o = await untilOverview(a.id, (x) => x.database?.sampled_at != null && Date.parse(x.database.sampled_at) > last, 'a sample after the moves');
    expect(o.usage.used_bytes).toBe(o.database!.size_bytes);
  });

  it('a retry after a lost report inserts nothing twice', async () => {
    const before = await admin<{ n: number }>('select count(*)::int as n from ir_attachment', [], a.db);
    // As if the node's result never arrived: Hostplane holds the content again and lists the file.
    await cp.app().deps.db.updateTable('instance_files').set({ content: pdf, moved_at: null }).where('id', '=', pdfId).execute();
    const ctx = ctxFor(cp.app().deps, { kind: 'system' });
    await pushInstanceUsersHandler.handle(ctx);
    expect((await objectOf(a.id)).spec.files?.map((f) => f.id)).toEqual([pdfId]);
    await until('cleared again', async () => ((await fileRow(pdfId))?.content === null ? true : undefined));
    expect(await attachmentsOf(a.db, pdfId)).toHaveLength(1);
    expect(await admin<{ n: number }>('select count(*)::int as n from ir_attachment', [], a.db)).toEqual(before);
    // The agent restarted re-applies everything: still one.
    await restartAgent();
    await untilOverview(a.id, (x) => x.database?.status === 'applied', 'a applied after restart');
    expect(await attachmentsOf(a.db, pdfId)).toHaveLength(1);
  });
});

describe('files Hostplane held before', () => {
  it("a row stored before this change moves through the migration's job", async () => {
    const old = Buffer.from('an invoice stored before files moved\n');
    const db = cp.app().deps.db;
    // As an older install stored it: content, no checksum.
    const row = await db.insertInto('instance_files').values({ client_id: b.id, name: 'old-invoice.txt', size_bytes: old.length, content: old }).returning('id').executeTakeFirstOrThrow();
    expect((await objectOf(b.id)).spec.files).toBeUndefined();
    await pushInstanceUsersHandler.handle(ctxFor(cp.app().deps, { kind: 'system' }));
    expect((await fileRow(row.id))!.sha256).toBe(createHash('sha256').update(old).digest('hex'));
    const att = await until('old file in ir_attachment', async () => (await attachmentsOf(b.db, row.id))[0]);
    expect(Buffer.compare(att!.db_datas, old)).toBe(0);
    expect(att!.checksum).toBe(sha1(old));
    await until('old file cleared', async () => ((await fileRow(row.id))?.content === null ? true : undefined));
  });

  it('an instance whose database has no ir_attachment keeps its files in Hostplane, counted in its storage', async () => {
    const content = randomBytes(3000);
    const r = await store(c.id, 'kept.bin', content);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const o = await untilOverview(c.id, (x) => x.database?.size_bytes != null, 'c measured');
    expect(o.files).toEqual({ source: 'hostplane', count: 1, bytes: 3000, staged: 0 });
    expect(o.usage.used_bytes).toBe(o.database!.size_bytes! + 3000);
    expect((await objectOf(c.id)).spec.files).toBeUndefined();
    expect(Buffer.compare((await fileRow(r.body.id))!.content!, content)).toBe(0);
  });
});

describe('the file door of /agent/v1', () => {
  let keptId: number;
  let kept: Buffer;

  beforeAll(async () => {
    // A file that stays in Hostplane (c's database has no ir_attachment) on the db node's instance.
    kept = randomBytes(2048);
    const r = await store(c.id, 'fetch-me.bin', kept);
    expect(r.status).toBe(201);
    keptId = r.body.id;
  });

  it("gives the node holding the instance's database the bytes", async () => {
    const res = await fetchFile(agentToken(), String(keptId));
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/octet-stream');
    expect(Buffer.compare(res.body, kept)).toBe(0);
  });

  it('is not found for another db node, a web node, a moved file or an id that is no id; 401 without a good token', async () => {
    const otherDb = await enrol(await createNode(cp, `db2-${w.prefix.slice(4)}`, ['db']));
    const web = await enrol(await createNode(cp, `web-${w.prefix.slice(4)}`, ['web']));
    for (const token of [otherDb, web]) {
      const res = await fetchFile(token, String(keptId));
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body.toString()).error.code).toBe('not_found');
    }
    const movedId = (await cp.app().deps.db.selectFrom('instance_files').select('id').where('client_id', '=', a.id).where('moved_at', 'is not', null).executeTakeFirstOrThrow()).id;
    expect((await fetchFile(agentToken(), String(movedId))).status).toBe(404);
    for (const id of ['0', 'abc', '1%20or%201=1', '99999999999', `${keptId}.0`]) expect((await fetchFile(agentToken(), id)).status, id).toBe(404);
    expect((await fetchFile(undefined, String(keptId))).status).toBe(401);
    expect((await fetchFile('hpn_not-a-real-token-at-all-000000', String(keptId))).status).toBe(401);

    // Nor can another node, or another object of the holding node, claim the file moved.
    const claim = async (token: string, objectId: string) => {
      const res = await fetch(`${cp.url}/agent/v1/status`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ results: [{ kind: 'database', id: objectId, version: 1, ok: true, files: [keptId] }] }),
      });
      expect(res.status).toBe(200);
    };
    await claim(otherDb, `db${c.id}`);
    await claim(agentToken(), `db${a.id}`);
    expect(Buffer.compare((await fileRow(keptId))!.content!, kept)).toBe(0);
    expect((await fetchFile(agentToken(), String(keptId))).status).toBe(200);
  });

  it('a status result whose files are not ids is refused (400) and clears nothing', async () => {
    const res = await fetch(`${cp.url}/agent/v1/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results: [{ kind: 'database', id: `db${c.id}`, version: 1, ok: true, files: ['1 or 1=1'] }] }),
    });
    expect(res.status).toBe(400);
    expect(Buffer.compare((await fileRow(keptId))!.content!, kept)).toBe(0);
  });
});

describe('refused uploads change nothing', () => {
  it('a file over 8 MiB is refused (413)', async () => {
    const before = { rows: await fileCount(a.id), object: await objectOf(a.id) };
    const r = await store(a.id, 'big.bin', Buffer.alloc(8 * 1024 * 1024 + 1));
    expect(r.status).toBe(413);
    expect(await fileCount(a.id)).toBe(before.rows);
    expect((await objectOf(a.id)).version).toBe(before.object.version);
  });

  it('a staged file counts against the storage limit until it is in the measured database: one beyond it is refused (409)', async () => {
    // The node is down, so no sample moves the numbers and a stored file stays staged here.
    await stopAgent();
    const o = await overview(a.id);
    const quota = Math.ceil(o.usage.used_mb) + 1;
    const set = await cp.admin('PATCH', `/admin/v1/packages/${planUid}`, { service_defaults: { diskquota: { quota } } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const limited = await overview(a.id);
    expect(limited.usage.limit_mb).toBe(quota);
    const room = quota * 1024 * 1024 - limited.usage.used_bytes;
    // Each file fits alone; both do not.
    const size = Math.floor(room * 0.6);
    const first = await store(a.id, 'first.bin', randomBytes(size));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.usage.used_bytes).toBe(limited.usage.used_bytes + size);
    const staged = await overview(a.id);
    expect(staged.files.staged).toBe(1);
    expect((await objectOf(a.id)).spec.files?.map((f) => f.id)).toEqual([first.body.id]);

    const before = { rows: await fileCount(a.id), object: await objectOf(a.id), attachments: await admin<{ n: number }>('select count(*)::int as n from ir_attachment', [], a.db) };
    const r = await store(a.id, 'too-much.bin', randomBytes(size));
    expect(r.status).toBe(409);
    expect(r.body.error!.message).toContain(`Storage limit of ${quota} MB reached`);
    expect(await fileCount(a.id)).toBe(before.rows);
    expect((await objectOf(a.id)).version).toBe(before.object.version);
    expect(await admin<{ n: number }>('select count(*)::int as n from ir_attachment', [], a.db)).toEqual(before.attachments);

    // The node back, the staged file moves; refused still, now counted from the database.
    await restartAgent();
    await until('first moved', async () => ((await fileRow(first.body.id))?.content === null ? true : undefined));
    expect(await attachmentsOf(a.db, first.body.id)).toHaveLength(1);
    expect((await store(a.id, 'too-much.bin', randomBytes(size))).status).toBe(409);
  });
});
