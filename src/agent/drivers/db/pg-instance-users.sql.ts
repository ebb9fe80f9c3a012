import { createHash } from 'node:crypto';
import type pg from 'pg';
import { type InstanceUserSpec, type ReportedInstanceUser } from '../../../core/nodes/agent-wire.schema.js';

// An instance's users inside its own database (docs/adr/0027): written into Odoo's res_users (with a
// res_partner each, as Odoo links them) and read back for the usage report, with the files of its
// ir_attachment. Templates differ (Odoo versions add NOT NULL columns: company_id, notification_type,
// ...), so a new row copies every required column it does not set from a row the template already
// has (its admin user, that user's partner), the way Odoo's own `copy` starts from an existing record.
// Every value is a bound parameter; identifiers come from the database's own catalog and are quoted.

/**
 * The table, inside the instance's database, that remembers which of the control plane's password
 * hashes the node last wrote for each login (by a digest of the hash, never the hash: an old hash
 * kept there would be one more thing to crack once the instance has changed the password). A hash
 * equal to the remembered one is not written again, so a password changed inside the instance stays
 * until a door sets a new one. Kept in the database rather than the agent's state, so it follows the
 * database (a restored dump, a new node, a lost state file) and goes with it when it is dropped.
 */
const APPLIED_PASSWORDS = 'hostplane_applied_passwords';

/** Odoo's superuser: nobody signs in as it, and a pushed password must never make that possible. */
const ODOO_SUPERUSER_LOGIN = '__system__';

function hashRef(hash: string): string {
  return createHash('sha256').update(hash).digest('hex');
}

/** Whether every one of `tables` exists, in one round trip. */
async function hasTables(c: pg.Client, tables: readonly string[]): Promise<boolean> {
  const { rows } = await c.query<{ ok: boolean }>('select bool_and(to_regclass(t) is not null) as ok from unnest($1::text[]) t', [tables]);
  return rows[0]?.ok === true;
}

export interface Column {
  name: string;
  type: string;
  required: boolean;
}

export function hasTable(c: pg.Client, table: string): Promise<boolean> {
  return hasTables(c, [table]);
}

export async function columnsOf(c: pg.Client, table: string): Promise<Map<string, Column>> {
  const { rows } = await c.query<{ name: string; type: string; required: boolean }>(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, (a.attnotnull and not a.atthasdef) as required
     from pg_attribute a where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped`,
    [table],
  );
  return new Map(rows.map((r) => [r.name, r]));
}

/**
 * Inserts one row of `table` with `values` (columns the table lacks are skipped) and, for every other
 * required column, the value of row `modelId`. Returns the new id.
 */
export async function insertLike(c: pg.Client, table: string, cols: Map<string, Column>, values: Record<string, unknown>, modelId: number | null): Promise<number> {
  const set = Object.keys(values).filter((k) => cols.has(k));
  const copied = [...cols.values()].filter((col) => col.required && col.name !== 'id' && !set.includes(col.name)).map((col) => col.name);
  if (copied.length && modelId === null) throw new Error(`${table} requires ${copied.join(', ')} and has no row to copy them from`);
  const q = (n: string) => c.escapeIdentifier(n);
  const params = set.map((k) => values[k]);
  const exprs = set.map((k, i) => `$${i + 1}::${cols.get(k)!.type}`);
  const names = [...set, ...copied].map(q).join(', ');
  const text = copied.length
    ? `insert into ${q(table)} (${names}) select ${[...exprs, ...copied.map((n) => `m.${q(n)}`)].join(', ')} from ${q(table)} m where m.id = $${params.length + 1} returning id`
    : `insert into ${q(table)} (${names}) values (${exprs.join(', ')}) returning id`;
  const { rows } = await c.query<{ id: number }>(text, copied.length ? [...params, modelId] : params);
  if (!rows[0]) throw new Error(`${table}: the row to copy required columns from is gone`);
  return Number(rows[0].id);
}

/**
 * Makes the database's res_users hold `users` (inside the caller's transaction): missing logins are
 * added as internal users (share false) with a partner, `active` is set on every listed login, and
 * each user joins the listed groups the database knows (ir_model_data). A user's password hash is
 * written when the user is made, and on an existing login only when it is not the hash last written
 * for it (APPLIED_PASSWORDS, a table owned by the database's `owner`). Returns false, changing nothing, where the database has no res_users of
 * Odoo's shape (ids and logins).
 */
export async function applyInstanceUsers(c: pg.Client, users: readonly InstanceUserSpec[], owner: string): Promise<boolean> {
  // A missing table has no columns: one look-up says whether it exists and what it holds (a round
  // trip less per database made).
  const userCols = await columnsOf(c, 'res_users');
  // Odoo's shape: rows with ids and logins. Anything else is not ours to write into.
  if (!userCols.has('id') || !userCols.has('login')) return false;
  if (users.length === 0) return true;
  const partnerCols = userCols.has('partner_id') ? await columnsOf(c, 'res_partner') : new Map<string, Column>();
  const withPartner = partnerCols.size > 0;
  const model = (
    await c.query<{ id: number; partner_id: number | null; company_id: number | null }>(
      `select id, ${userCols.has('partner_id') ? 'partner_id' : 'null::int as partner_id'}, ${userCols.has('company_id') ? 'company_id' : 'null::int as company_id'}
       from res_users order by (login = 'admin') desc, ${userCols.has('active') ? 'active desc,' : ''} id limit 1`,
    )
  ).rows[0];

  const existing = new Map(
    (await c.query<{ id: number; login: string }>('select id, login from res_users where login = any($1::text[])', [users.map((u) => u.login)])).rows.map((r) => [r.login, Number(r.id)]),
  );
  // Which hashes are new to this database: only those are written. Without a password column (not
  // Odoo's shape for passwords) nothing is written and nothing remembered.
  const withPasswords = userCols.has('password') && users.some((u) => u.passwordHash !== undefined && u.login !== ODOO_SUPERUSER_LOGIN);
  const applied = new Map<string, string>();
  if (withPasswords) {
    // The owner's from the start, like everything else in the database (the hand-over before this
    // ran only moves what already existed); a no-op once it is.
    await c.query(
      `create table if not exists ${APPLIED_PASSWORDS} (login varchar primary key, hash_ref varchar not null, applied_at timestamp not null);
       alter table ${APPLIED_PASSWORDS} owner to ${c.escapeIdentifier(owner)}`,
    );
    const { rows } = await c.query<{ login: string; hash_ref: string }>(`select login, hash_ref from ${APPLIED_PASSWORDS} where login = any($1::text[])`, [users.map((u) => u.login)]);
    for (const r of rows) applied.set(r.login, r.hash_ref);
  }
  const newHash = (u: InstanceUserSpec): string | undefined =>
    withPasswords && u.passwordHash !== undefined && u.login !== ODOO_SUPERUSER_LOGIN && applied.get(u.login) !== hashRef(u.passwordHash) ? u.passwordHash : undefined;
  const written: { login: string; ref: string }[] = [];

  const ids = new Map<string, number>();
  for (const u of users) {
    const password = newHash(u);
    let id = existing.get(u.login);
    if (id === undefined) {
      // Odoo keeps UTC in timestamps without a zone.
      const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
      const stamp = { create_date: now, write_date: now };
      const partnerId = withPartner ? await insertLike(c, 'res_partner', partnerCols, { name: u.name || u.login, display_name: u.name || u.login, email: u.login.includes('@') ? u.login : null, active: true, ...stamp }, model?.partner_id ?? null) : undefined;
      id = await insertLike(c, 'res_users', userCols, { login: u.login, active: u.active, share: false, ...(partnerId === undefined ? {} : { partner_id: partnerId }), ...(password === undefined ? {} : { password }), ...stamp }, model?.id ?? null);
      if (model?.company_id != null && (await hasTable(c, 'res_company_users_rel'))) {
        await c.query('insert into res_company_users_rel (cid, user_id) select $1, $2 where not exists (select 1 from res_company_users_rel where cid = $1 and user_id = $2)', [model.company_id, id]);
      }
    } else {
      if (userCols.has('active')) await c.query('update res_users set active = $2 where id = $1 and active is distinct from $2', [id, u.active]);
      if (password !== undefined) await c.query('update res_users set password = $2 where id = $1', [id, password]);
    }
    if (password !== undefined) written.push({ login: u.login, ref: hashRef(password) });
    ids.set(u.login, id);
  }
  if (written.length) {
    await c.query(
      `insert into ${APPLIED_PASSWORDS} (login, hash_ref, applied_at)
       select p.login, p.ref, now() at time zone 'utc' from json_to_recordset($1::json) as p(login text, ref text)
       on conflict (login) do update set hash_ref = excluded.hash_ref, applied_at = excluded.applied_at`,
      [JSON.stringify(written)],
    );
  }
  const pairs = users.flatMap((u) => u.groups.map((g) => ({ uid: ids.get(u.login)!, xmlid: g })));
  if (pairs.length && (await hasTables(c, ['ir_model_data', 'res_groups_users_rel']))) {
    await c.query(
      `insert into res_groups_users_rel (gid, uid)
       select distinct d.res_id, p.uid from json_to_recordset($1::json) as p(uid int, xmlid text)
       join ir_model_data d on d.model = 'res.groups' and d.module || '.' || d.name = p.xmlid
       where not exists (select 1 from res_groups_users_rel r where r.gid = d.res_id and r.uid = p.uid)`,
      [JSON.stringify(pairs)],
    );
  }
  return true;
}

export interface InstanceReport {
  /** null: no res_users; undefined: it has one (the list goes by `usersDigest`). */
  users?: null;
  usersDigest?: string;
  usersTotal?: number;
  activeUsers?: number;
  /** null: no ir_attachment. */
  files: { count: number; bytes: number } | null;
}

/** How res_users reads where this database has it: the expressions of one user row, in the list's order. */
interface UsersShape {
  from: string;
  login: string;
  name: string;
  active: string;
  share: string;
  order: string;
}

async function usersShape(c: pg.Client): Promise<UsersShape | undefined> {
  const cols = (await hasTable(c, 'res_users')) ? await columnsOf(c, 'res_users') : undefined;
  if (!cols?.has('login')) return undefined;
  const partner = cols.has('partner_id') && (await hasTable(c, 'res_partner')) && (await columnsOf(c, 'res_partner')).has('name');
  return {
    from: `res_users u ${partner ? 'left join res_partner p on p.id = u.partner_id' : ''}`,
    login: "coalesce(u.login::text, '')",
    name: partner ? 'p.name::text' : cols.has('name') ? 'u.name::text' : 'null::text',
    active: cols.has('active') ? 'coalesce(u.active, false)' : 'true',
    share: cols.has('share') ? 'coalesce(u.share, false)' : 'false',
    order: cols.has('id') ? 'u.id' : 'u.login',
  };
}

/**
 * The digest of the whole list, computed where the rows are, so an unchanged list costs the report
 * 64 characters. It covers the values as stored (not cut to the contract's sizes), one JSON-quoted
 * row per line, so any change to a login, name, active or share flag, or the order, changes it.
 */
function digestSql(u: UsersShape): string {
  const row = `concat(to_json(${u.login})::text, ',', coalesce(to_json(${u.name})::text, 'null'), ',', ${u.active}::text, ',', ${u.share}::text)`;
  return `select encode(sha256(convert_to(coalesce(string_agg(${row}, E'\\n' order by ${u.order}), ''), 'UTF8')), 'hex') as digest,
    count(*)::text as total, count(*) filter (where ${u.active} and not ${u.share})::text as internal from ${u.from}`;
}

/** Cut to `max` UTF-16 units (the contract's measure) without splitting a character in two. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const t = s.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(t) ? t.slice(0, -1) : t;
}

/** What the usage report says of an instance's database from inside it: its users' digest and counts, and its files. */
export async function readInstanceReport(c: pg.Client): Promise<InstanceReport> {
  const report: InstanceReport = { files: null };
  const shape = await usersShape(c);
  if (shape) {
    const r = (await c.query<{ digest: string; total: string; internal: string }>(digestSql(shape))).rows[0]!;
    report.usersDigest = r.digest;
    report.usersTotal = Number(r.total);
    report.activeUsers = Number(r.internal);
  } else {
    report.users = null;
  }
  if ((await hasTable(c, 'ir_attachment')) && (await columnsOf(c, 'ir_attachment')).has('file_size')) {
    const f = (await c.query<{ n: string; bytes: string }>('select count(*)::text as n, coalesce(sum(file_size), 0)::text as bytes from ir_attachment')).rows[0]!;
    report.files = { count: Number(f.n), bytes: Number(f.bytes) };
  }
  return report;
}

/**
 * Every user of res_users in id order with the digest of that same list (one snapshot), for the
 * control plane when it holds another list; undefined where the database has no res_users.
 */
export async function readInstanceUserList(c: pg.Client): Promise<{ digest: string; users: ReportedInstanceUser[] } | undefined> {
  await c.query('begin isolation level repeatable read read only');
  try {
    const shape = await usersShape(c);
    if (!shape) return undefined;
    const { digest } = (await c.query<{ digest: string }>(digestSql(shape))).rows[0]!;
    const { rows } = await c.query<{ login: string; name: string | null; active: boolean; share: boolean }>(
      `select ${shape.login} as login, ${shape.name} as name, ${shape.active} as active, ${shape.share} as share from ${shape.from} order by ${shape.order}`,
    );
    return { digest, users: rows.map((r) => ({ login: cut(r.login, 254), name: r.name === null ? null : cut(r.name, 256), active: r.active, share: r.share })) };
  } finally {
    await c.query('rollback');
  }
}
