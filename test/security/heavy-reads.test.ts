import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECT_PAGE } from '../../src/core/sites/site.plans.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// Issue 12, item 12: admin:collect over thousands of sites reads them in keyset pages (so other
// requests get the single PGlite connection between two pages) and looks its targets up with one
// statement. These tests pin what the answer must still be across page boundaries and for long
// target lists; the timing itself is measured by the bench (row 12), never asserted here.

const SITES = COLLECT_PAGE * 2 + 140; // three pages, the last one partial
let t: TestApp;
let ids: number[] = [];
type Sites = Record<string, Record<string, unknown>>;

async function cpcmd(fn: string, args: unknown[]): Promise<{ status: number; body: { result?: unknown; error?: { code: string; message: string } } }> {
  const res = await t.app.server.inject({ method: 'POST', url: `/api/v1/cpcmd/${fn}`, headers: { authorization: `Bearer ${t.operatorKey}` }, payload: { args } });
  return { status: res.statusCode, body: res.json() };
}

async function collect(params: unknown, query: unknown = [], sites?: unknown): Promise<Sites> {
  const r = await cpcmd('admin:collect', sites === undefined ? [params, query] : [params, query, sites]);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.result as Sites;
}

const domain = (k: number) => `heavy${k}.example`;

beforeAll(async () => {
  t = await createTestApp();
  const db = t.app.deps.db;
  const plan = await db.selectFrom('plans').select('id').where('uid', '=', 'basic').executeTakeFirstOrThrow();
  // Site k (1-based): every 7th overrides its quota to 77, every 5th is suspended, every 10th is the
  // master of invoice inv-k and every 10th + 1 its subordinate; each has an alias and an admin user.
  await sql`
    insert into clients (reseller_id, plan_id, name, email_address, user_count, status, invoice, parent_invoice, service_meta)
    select null, ${plan.id}, 'heavy' || k || '.example', 'owner' || k || '@heavy.example', 1 + k % 9,
      case when k % 5 = 0 then 'suspended' else 'active' end,
      case when k % 10 = 0 then 'inv-' || k end, case when k % 10 = 1 and k > 1 then 'inv-' || (k - 1) end,
      case when k % 7 = 0 then '{"diskquota":{"quota":77}}'::jsonb else '{}'::jsonb end
    from generate_series(1, ${SITES}::int) k`.execute(db);
  await sql`
    insert into domains (client_id, reseller_id, name, position, status)
    select c.id, null, case when p = 0 then c.name else 'alias.' || c.name end, p, 'ready'
    from clients c cross join generate_series(0, 1) p where c.name like 'heavy%'`.execute(db);
  await sql`
    insert into users (role, client_id, reseller_id, login, email, name)
    select 'client_admin', c.id, null, 'admin-' || split_part(c.name, '.', 1), c.email_address, 'Administrator' from clients c where c.name like 'heavy%'`.execute(db);
  ids = (await db.selectFrom('clients').select('id').where('name', 'like', 'heavy%').orderBy('id').execute()).map((r) => r.id);
  expect(ids).toHaveLength(SITES);
});

afterAll(async () => {
  await t?.close();
});

/** What collect must show for site k with the default selection, from the seed's rules alone. */
function expected(k: number) {
  return {
    siteinfo: { email: `owner${k}@heavy.example`, admin_user: `admin-heavy${k}` },
    aliases: { aliases: [`alias.${domain(k)}`] },
    billing: { invoice: k % 10 === 0 ? `inv-${k}` : null, parent_invoice: k % 10 === 1 && k > 1 ? `inv-${k - 1}` : null },
    active: k % 5 !== 0,
    domain: domain(k),
  };
}

describe('admin:collect over more sites than one page', () => {
  it('returns every site once, in id order, with the values of its own row on both sides of each page boundary', async () => {
    const all = await collect([]);
    const keys = Object.keys(all).filter((k) => ids.includes(Number(k.slice(4))));
    expect(keys).toEqual(ids.map((id) => `site${id}`));
    for (let k = 1; k <= SITES; k++) expect(all[`site${ids[k - 1]}`], `site ${k}`).toEqual(expected(k));
  });

  it('filters on stored values (in memory) and on record columns (in SQL) across pages', async () => {
    const quota = await collect(['diskquota.quota', 'users.max'], { 'diskquota.quota': 77 });
    const sevens = ids.filter((_, i) => (i + 1) % 7 === 0);
    expect(Object.keys(quota)).toEqual(sevens.map((id) => `site${id}`));
    for (const [i, id] of sevens.entries()) expect(quota[`site${id}`]).toMatchObject({ diskquota: { quota: 77 }, users: { max: 1 + ((7 * (i + 1)) % 9) } });

    // The plan default shows where a site sets nothing; active is a column condition.
    const suspended = await collect(['diskquota.quota', 'saas_client.total_storage_limit'], { active: false });
    const fives = ids.filter((_, i) => (i + 1) % 5 === 0);
    expect(Object.keys(suspended).filter((k) => ids.includes(Number(k.slice(4))))).toEqual(fives.map((id) => `site${id}`));
    const site35 = suspended[`site${ids[34]}`]!;
    expect(site35).toMatchObject({ diskquota: { quota: 77 }, saas_client: { total_storage_limit: 77 }, active: false });
    expect(suspended[`site${ids[9]}`]).toMatchObject({ diskquota: { quota: 1024 }, active: false });
  });

  it('params null shows every value of every site, the admin login and overrides included', async () => {
    const all = await collect(null);
    const last = all[`site${ids[SITES - 1]}`]!;
    const k = SITES;
    expect(last).toMatchObject({ siteinfo: { domain: domain(k), admin_user: `admin-heavy${k}`, email: `owner${k}@heavy.example`, plan: 'basic', enabled: 1 }, aliases: { aliases: [`alias.${domain(k)}`] } });
    expect(Object.keys(all).filter((key) => ids.includes(Number(key.slice(4))))).toHaveLength(SITES);
  });
});

describe('long target lists are looked up together', () => {
  it('keys each site by what named it: ids (siteNN or NN), domains in any case or with the root dot, invoices (a group keyed siteNN)', async () => {
    const targets = [`site${ids[0]}`, String(ids[300]), domain(401).toUpperCase(), `${domain(402)}.`, 'inv-500', `alias.${domain(600)}`, 'nothing.example', 'no-such-invoice'];
    const out = await collect([], [], targets);
    expect(Object.keys(out).sort()).toEqual(
      [`site${ids[0]}`, String(ids[300]), domain(401).toUpperCase(), `${domain(402)}.`, `site${ids[499]}`, `site${ids[500]}`, `alias.${domain(600)}`].sort(),
    );
    expect(out[domain(401).toUpperCase()]).toEqual(expected(401));
    expect(out[`alias.${domain(600)}`]).toEqual(expected(600));
    expect(out[`site${ids[500]}`]).toEqual(expected(501));
  });

  it('a site id wins over a domain or invoice of the same text, as for a single target', async () => {
    // An invoice spelled like a site id: the id is what the text names.
    await sql`update clients set invoice = ${String(ids[20])} where id = ${ids[21]!}`.execute(t.app.deps.db);
    try {
      expect(Object.keys(await collect([], [], [String(ids[20])]))).toEqual([String(ids[20])]);
      expect((await collect(['billing.invoice'], [], [String(ids[20])]))[String(ids[20])]).toMatchObject({ billing: { invoice: null } });
    } finally {
      await sql`update clients set invoice = null where id = ${ids[21]!}`.execute(t.app.deps.db);
    }
  });

  it('a group command over 600 targets changes all of them, or none when one names nothing', async () => {
    const targets = ids.slice(0, 600).filter((_, i) => (i + 1) % 5 !== 0).map((id) => `site${id}`);
    const refused = await cpcmd('admin:deactivate-site', [[...targets, 'nothing-here.example'], 'bulk']);
    expect(refused.status).toBe(404);
    expect(refused.body.error?.message).toContain('nothing-here.example');
    const stillActive = await sql<{ n: number }>`select count(*)::int as n from clients where id = any(${targets.map((s) => Number(s.slice(4)))}::bigint[]) and status = 'active'`.execute(t.app.deps.db);
    expect(stillActive.rows[0]!.n).toBe(targets.length);

    const done = await cpcmd('admin:deactivate-site', [targets, 'bulk']);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const suspended = await collect([], { active: false }, targets);
    expect(Object.keys(suspended).sort()).toEqual([...targets].sort());
    expect((await cpcmd('admin:activate-site', [targets])).status).toBe(200);
  });

  it('refuses an empty target among many with 422', async () => {
    const r = await cpcmd('admin:collect', [[], [], [`site${ids[0]}`, '  ']]);
    expect(r.status).toBe(422);
    expect(r.body.error?.code).toBe('validation_failed');
  });
});
