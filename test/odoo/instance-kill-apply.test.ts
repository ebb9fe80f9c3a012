import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSpec } from '../../src/core/nodes/agent-wire.schema.js';
import { nodeObjects, type ControlPlane } from '../agent/agent-harness.js';
import { sleep, waitFor } from '../jobs-process/process-harness.js';
import { pgAdmin, startInstanceWorld, type Instance, type InstanceWorld } from './instance-world.js';

/*
 * kill -9 of a real `hostplane agent` (role db) while it writes what the doors gave an instance into
 * its database (docs/adr/0027 and its addenda), on the machine's PostgreSQL: files staged at
 * Hostplane's door going into ir_attachment, and users with their passwords going into res_users.
 * Everything is given while the agent is down, so it applies it all in one batch when it starts.
 * It is killed twice: inside the transaction that writes one instance's users, then while the
 * other's files go in one by one; started again each time, it must leave every file in ir_attachment
 * once, every user once with the hash the door made, the doors listing the users the database holds,
 * and Hostplane's staged content cleared for the files the database really holds and for no other:
 * one file whose staged content no longer matches its checksum is never held, and stays staged.
 */

const FILES = 40;
const USERS_A = 10;
const USERS_B = 60;

let w: InstanceWorld;
let cp: ControlPlane;
let a: Instance;
let b: Instance;
const why = () => w.agent.output().slice(-3000);
const sha1 = (x: Buffer) => createHash('sha1').update(x).digest('hex');
const sha256 = (x: Buffer) => createHash('sha256').update(x).digest('hex');

interface Overview {
  users_source: string;
  users_total: number;
  users: { login: string }[];
  files: { source: string; count: number; staged: number };
}

/** The files of `db` carrying Hostplane's marker, by file id, with how many attachments each marker names. */
async function marked(db: string): Promise<Map<number, number>> {
  const rows = await pgAdmin<{ name: string; n: number }>(
    `select d.name, count(a.id)::int as n from ir_model_data d join ir_attachment a on a.id = d.res_id
     where d.module = 'hostplane' and d.model = 'ir.attachment' group by d.name`,
    [],
    db,
  );
  return new Map(rows.map((r) => [Number(r.name.replace('instance_file_', '')), r.n]));
}

/** Whether the agent has a transaction open inside `db` that has written (a read, such as the usage report's, has no xid). */
async function writingIn(db: string): Promise<boolean> {
  return (await pgAdmin("select 1 from pg_stat_activity where datname = $1 and application_name = 'hostplane-agent' and backend_xid is not null", [db])).length > 0;
}

/** The desired spec of an instance's database, as the control plane holds it. */
async function desiredOf(clientId: number): Promise<{ spec: DatabaseSpec }> {
  return (await cp.app().deps.db.selectFrom('node_objects').select('spec').where('object_id', '=', `db${clientId}`).executeTakeFirstOrThrow()) as { spec: DatabaseSpec };
}

async function staged(clientId: number) {
  return cp.app().deps.db.selectFrom('instance_files').select(['id', 'content', 'moved_at']).where('client_id', '=', clientId).orderBy('id').execute();
}

async function killAgent(): Promise<void> {
  w.agent.child.kill('SIGKILL');
  expect((await w.agent.exited).signal).toBe('SIGKILL');
}

/**
 * Kills the agent once `now()` holds while it is frozen (SIGSTOP), so the check and the kill see the
 * same moment; what it had already sent is given a moment to reach the server before the check.
 */
async function killWhen(now: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(
    async () => {
      if (!(await now())) return undefined;
      w.agent.child.kill('SIGSTOP');
      await sleep(100);
      if (await now()) return true;
      w.agent.child.kill('SIGCONT');
      return undefined;
    },
    120_000,
    () => `${what}\n${why()}`,
    10,
  );
  await killAgent();
}

const contents = new Map<number, Buffer>();
const names = new Map<number, string>();
let badFile: number;
const loginsA = Array.from({ length: USERS_A }, (_, i) => `a${i}@a.test`);
const loginsB = Array.from({ length: USERS_B }, (_, i) => `b${i}@b.test`);

beforeAll(async () => {
  // The node stays "healthy" while its agent is down: its objects keep being written for it.
  w = await startInstanceWorld('j', { env: { HOSTPLANE_NODE_UNHEALTHY_SECONDS: '600' } });
  cp = w.cp;
  const plan = await w.createPlan(`odoo-${w.prefix}`, w.template, USERS_B + 10);
  a = await w.createInstance(plan, w.host('a'));
  b = await w.createInstance(plan, w.host('b'));
  // Files are staged for a database once it has reported its ir_attachment.
  await w.untilOverview<Overview>(a.id, (o) => o.files.source === 'instance_database', 'a reported');
  await w.untilOverview<Overview>(b.id, (o) => o.users_source === 'instance_database', 'b reported');
  await killAgent();

  for (let i = 0; i < FILES; i++) {
    const content = randomBytes(64 * 1024 + i);
    const r = await cp.admin<{ id: number }>('POST', `/admin/v1/clients/${a.id}/files`, { name: `f${i}.bin`, content_base64: content.toString('base64') });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    contents.set(r.body.id, content);
    names.set(r.body.id, `f${i}.bin`);
  }
  // One file's staged content changed behind the door: what the node fetches fails its checksum.
  badFile = [...contents.keys()][FILES - 5]!;
  const tampered = Buffer.from(contents.get(badFile)!);
  tampered[0] = tampered[0]! ^ 0xff;
  await cp.app().deps.db.updateTable('instance_files').set({ content: tampered }).where('id', '=', badFile).execute();

  for (const [inst, logins] of [[a, loginsA], [b, loginsB]] as const) {
    for (const login of logins) {
      const r = await cp.admin('POST', `/admin/v1/clients/${inst.id}/users`, { login, name: login, password: `pw ${login} ${randomBytes(4).toString('hex')}` });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
  }
}, 240_000);

afterAll(() => w?.close(), 120_000);

describe('kill -9 mid-apply of instance files and users', () => {
  it('killed inside a user write and again among the files, restarted: every file once, every password, staged content cleared only for the files held', async () => {
    // First kill: inside the transaction that writes b's users (its settings, users and passwords).
    await w.startAgent();
    await killWhen(() => writingIn(b.db), "the agent writing b's users");
    // That transaction is gone whole: none of b's new users is there, with or without a password.
    expect(await pgAdmin('select login from res_users where login = any($1)', [loginsB], b.db)).toEqual([]);
    // Nothing was reported: every staged file is still held by Hostplane, whatever a holds already.
    expect((await staged(a.id)).every((f) => f.content !== null && f.moved_at === null)).toBe(true);

    // Second kill: more of a's files in than before (each goes in its own transaction), not all.
    const heldBefore = (await marked(a.db)).size;
    expect(heldBefore).toBeLessThan(FILES - 2);
    await w.startAgent();
    let heldAtKill = 0;
    await killWhen(async () => {
      heldAtKill = (await marked(a.db)).size;
      return heldAtKill > heldBefore && heldAtKill < FILES - 1;
    }, "a's files half in");
    expect((await marked(a.db)).size).toBe(heldAtKill);
    // Still nothing reported: the files a holds now are not cleared at Hostplane yet.
    expect((await staged(a.id)).every((f) => f.content !== null && f.moved_at === null)).toBe(true);

    // Started again: b applied; a fails on the one bad file only, naming the others held. (Files
    // reported held rewrite a's object without them: it fails again at that version.)
    await w.startAgent();
    await waitFor(
      async () => {
        const files = await staged(a.id);
        const objects = await nodeObjects(cp, w.node.id);
        const [objA, objB] = [a, b].map((i) => objects.find((o) => o.id === `db${i.id}`)!);
        return objB!.applied_version === objB!.version && objA!.error?.includes(`file ${badFile}:`) && files.every((f) => (f.id === badFile) === (f.content !== null)) ? true : undefined;
      },
      120_000,
      why,
      250,
    );

    // Each file exactly once in ir_attachment, with its own bytes; the bad one not at all.
    const held = await marked(a.db);
    expect([...held.keys()].sort((x, y) => x - y)).toEqual([...contents.keys()].filter((id) => id !== badFile));
    expect([...held.values()].every((n) => n === 1)).toBe(true);
    const rows = await pgAdmin<{ name: string; checksum: string; db_datas: Buffer }>(
      "select a.name, a.checksum, a.db_datas from ir_attachment a join ir_model_data d on d.res_id = a.id and d.model = 'ir.attachment' where d.module = 'hostplane'",
      [],
      a.db,
    );
    for (const r of rows) {
      const id = [...names].find(([, n]) => n === r.name)![0];
      expect(Buffer.compare(r.db_datas, contents.get(id)!), r.name).toBe(0);
      expect(r.checksum).toBe(sha1(contents.get(id)!));
    }
    // No attachment of these bytes without its marker (an insert cut off by the kill left nothing).
    const byChecksum = await pgAdmin<{ checksum: string; n: number }>('select checksum, count(*)::int as n from ir_attachment where checksum = any($1) group by checksum', [[...contents.values()].map(sha1)], a.db);
    expect(byChecksum.map((r) => r.n)).toEqual(Array(FILES - 1).fill(1));

    // Hostplane: content cleared and moved for every file held, kept for the bad one, which its spec still lists.
    const after = await staged(a.id);
    for (const f of after) {
      if (f.id === badFile) {
        expect(f.moved_at, 'bad file').toBeNull();
        expect(f.content?.length, 'bad file').toBe(contents.get(badFile)!.length);
      } else expect(f.content, `file ${f.id}`).toBeNull();
    }
    const objA = (await desiredOf(a.id)).spec;
    expect(objA.files!.map((f) => f.id)).toEqual([badFile]);
    const o = await w.untilOverview<Overview>(a.id, (x) => x.files.count === 2 + FILES - 1, 'a reports its files');
    expect(o.files).toMatchObject({ source: 'instance_database', staged: 1 });

    // Every user once, with the hash the door made, remembered by a digest of it.
    for (const [inst, logins] of [[a, loginsA], [b, loginsB]] as const) {
      const want = new Map(
        (await cp.app().deps.db.selectFrom('users').select(['login', 'odoo_password_hash']).where('client_id', '=', inst.id).where('login', 'in', logins).execute()).map((u) => [u.login, u.odoo_password_hash!]),
      );
      expect(want.size).toBe(logins.length);
      const got = await pgAdmin<{ login: string; password: string; n: number }>('select login, min(password) as password, count(*)::int as n from res_users where login = any($1) group by login', [logins], inst.db);
      expect(new Map(got.map((r) => [r.login, [r.password, r.n]]))).toEqual(new Map([...want].map(([l, h]) => [l, [h, 1]])));
      const refs = await pgAdmin<{ login: string; hash_ref: string }>('select login, hash_ref from hostplane_applied_passwords where login = any($1)', [logins], inst.db);
      expect(new Map(refs.map((r) => [r.login, r.hash_ref]))).toEqual(new Map([...want].map(([l, h]) => [l, sha256(Buffer.from(h))])));
    }

    // The doors list the users b's database holds, all of them, and count its active internal users.
    const internal = (await pgAdmin<{ n: number }>('select count(*)::int as n from res_users where active and not share', [], b.db))[0]!.n;
    const ob = await w.untilOverview<Overview>(b.id, (x) => x.users_total === internal && loginsB.every((l) => x.users.some((u) => u.login === l)), "b's users reported");
    expect(ob.users.filter((u) => loginsB.includes(u.login)).map((u) => u.login).sort()).toEqual([...loginsB].sort());
  }, 600_000);
});
