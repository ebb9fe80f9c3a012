import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiscpServer, type ApiscpServer } from './apiscp-harness.js';

let s: ApiscpServer;
beforeAll(async () => {
  s = await startApiscpServer();
});
afterAll(() => s.close());

async function ok(name: string, args: unknown[] = [], extra: Record<string, unknown> = {}): Promise<unknown> {
  const r = await s.fn(name, args, extra);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.result;
}

/** A browser of one: keeps the session cookie between requests. */
function browser() {
  let cookie = '';
  const remember = (res: Response) => {
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0]!;
    return res;
  };
  return {
    open: async (path: string) => remember(await fetch(`${s.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' })),
    switchTo: async (site: string) =>
      remember(await fetch(`${s.url}/apps/dashboard/switch`, { method: 'POST', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ site }).toString(), redirect: 'manual' })),
  };
}

async function group(prefix: string) {
  await ok('admin:add-site', [`${prefix}-master.example`, 'boss', { 'billing.invoice': `${prefix}-inv` }]);
  await ok('admin:add-site', [`${prefix}-a.example`, 'suba', { 'billing.parent_invoice': `${prefix}-inv` }]);
  await ok('admin:add-site', [`${prefix}-b.example`, 'subb', { 'billing.parent_invoice': `${prefix}-inv` }]);
  const ids = (await ok('admin:collect', [['siteinfo.domain'], { 'billing.invoice': `${prefix}-inv` }])) as Record<string, unknown>;
  const subs = (await ok('admin:collect', [['siteinfo.domain'], { 'billing.parent_invoice': `${prefix}-inv` }])) as Record<string, unknown>;
  return { master: Object.keys(ids)[0]!, a: Object.keys(subs)[0]!, b: Object.keys(subs)[1]! };
}

describe('site-to-site SSO within an account group', () => {
  it('a master enters a subordinate and comes back; no lateral moves; a subordinate may not go up', async () => {
    const g = await group('sso1');
    const me = browser();
    const id = (await ok('admin:hijack', [g.master])) as string;
    // The session id goes into the cookie, then the browser goes on without it (303).
    const landing = await me.open(`/apps/dashboard?esprit_id=${encodeURIComponent(id)}`);
    expect(landing.status).toBe(303);
    const home = await me.open('/apps/dashboard');
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('sso1-master.example');
    expect(html).toContain(`value="${g.a}"`);
    expect(html).toContain(`value="${g.b}"`);

    const into = await me.switchTo(g.a);
    expect(into.status).toBe(303);
    const sub = await me.open('/apps/dashboard');
    expect(sub.status).toBe(200);
    const subHtml = await sub.text();
    expect(subHtml).toContain('sso1-a.example');
    expect(subHtml).toContain('suba');
    expect(subHtml).toContain(`Back to sso1-master.example`);

    // Sideways from one subordinate to another: refused, and the session stays where it was.
    expect((await me.switchTo(g.b)).status).toBe(403);
    expect(await (await me.open('/apps/dashboard')).text()).toContain('sso1-a.example');

    expect((await me.switchTo(g.master)).status).toBe(303);
    expect(await (await me.open('/apps/dashboard')).text()).toContain('sso1-master.example');

    // Logged straight into a subordinate: it may not switch up to the master.
    const direct = browser();
    const subId = (await ok('admin:hijack', [g.b])) as string;
    expect((await direct.open(`/apps/dashboard?esprit_id=${encodeURIComponent(subId)}`)).status).toBe(303);
    expect((await direct.switchTo(g.master)).status).toBe(403);
    expect((await direct.switchTo(g.a)).status).toBe(403);
  });

  it('cp.config auth subordinate_site_sso false turns switching off; suspended sites cannot be entered', async () => {
    const g = await group('sso2');
    const me = browser();
    const id = (await ok('admin:hijack', [g.master])) as string;
    expect((await me.open(`/apps/dashboard?esprit_id=${encodeURIComponent(id)}`)).status).toBe(303);

    await ok('scope:set', ['cp.config', 'auth', 'subordinate_site_sso', false]);
    try {
      expect(await (await me.open('/apps/dashboard')).text()).not.toContain(`value="${g.a}"`);
      expect((await me.switchTo(g.a)).status).toBe(403);
    } finally {
      await ok('scope:set', ['cp.config', 'auth', 'subordinate_site_sso', true]);
    }

    await ok('admin:deactivate-site', [g.a, 'unpaid']);
    expect((await me.switchTo(g.a)).status).toBe(409);
    // Hijacking a suspended site is refused too, and its open sessions stop working.
    expect((await s.fn('admin:hijack', [g.a])).status).toBe(409);
    await ok('admin:activate-site', [g.a]);
    const subSession = browser();
    const subId = (await ok('admin:hijack', [g.a])) as string;
    expect((await subSession.open(`/apps/dashboard?esprit_id=${encodeURIComponent(subId)}`)).status).toBe(303);
    await ok('admin:deactivate-site', [g.a]);
    // Its admin's open session now shows only the suspension notice in the client area (cp.config auth suspended_login).
    const held = await subSession.open('/apps/dashboard');
    expect(held.status).toBe(303);
    expect(held.headers.get('location')).toBe('/console/my');
    await ok('scope:set', ['cp.config', 'auth', 'suspended_login', false]);
    try {
      expect((await subSession.open('/apps/dashboard')).status).toBe(401);
    } finally {
      await ok('scope:set', ['cp.config', 'auth', 'suspended_login', true]);
    }
  });

  it('refuses a switch without a session, without a site, or to an unknown site', async () => {
    const anon = await fetch(`${s.url}/apps/dashboard/switch`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'site=site1', redirect: 'manual' });
    expect(anon.status).toBe(401);
    const g = await group('sso3');
    const me = browser();
    const id = (await ok('admin:hijack', [g.master])) as string;
    await me.open(`/apps/dashboard?esprit_id=${encodeURIComponent(id)}`);
    expect((await me.switchTo('')).status).toBe(422);
    expect((await me.switchTo('no-such-site.example')).status).toBe(404);
    expect((await fetch(`${s.url}/apps/dashboard?esprit_id=not-a-session`)).status).toBe(401);
  });
});

describe('opcenter.account-cleanup', () => {
  it('the periodic job deletes sites suspended longer than the scope allows, with an audit event, and no others', async () => {
    await ok('admin:add-site', ['old-suspended.example', 'olduser', []]);
    await ok('admin:add-site', ['new-suspended.example', 'newuser', []]);
    await ok('admin:add-site', ['still-active.example', 'activeuser', []]);
    // A long-suspended master whose subordinate stays active is kept, as DeleteDomain without --force would.
    await ok('admin:add-site', ['old-master.example', 'oldmaster', { 'billing.invoice': 'cleanup-inv' }]);
    await ok('admin:add-site', ['kept-sub.example', 'keptsub', { 'billing.parent_invoice': 'cleanup-inv' }]);
    const start = Date.now();
    s.t.setNow(new Date(start - 40 * 86_400_000));
    try {
      await ok('admin:deactivate-site', ['old-suspended.example', 'non-payment']);
      await ok('admin:deactivate-site', ['old-master.example']);
      s.t.setNow(new Date(start - 10 * 86_400_000));
      await ok('admin:deactivate-site', ['new-suspended.example']);
      s.t.setNow(new Date(start));
      await ok('scope:set', ['opcenter.account-cleanup', '30 days']);
      await s.t.app.jobs.schedulePeriodic();
      await s.t.app.jobs.drain();
      const left = (await ok('admin:collect', [['siteinfo.domain'], []])) as Record<string, { domain: string }>;
      const domains = Object.values(left).map((v) => v.domain);
      expect(domains).not.toContain('old-suspended.example');
      expect(domains).toContain('new-suspended.example');
      expect(domains).toContain('still-active.example');
      expect(domains).toContain('old-master.example');
      const audit = await s.t.app.server.inject({ method: 'GET', url: '/admin/v1/audit?action=client.deleted&actor_kind=system', headers: { authorization: `Bearer ${s.t.operatorKey}` } });
      expect(audit.statusCode).toBe(200);
      expect((audit.json() as { events: unknown[] }).events).toHaveLength(1);
      // The released name can be used again.
      await ok('admin:add-site', ['old-suspended.example', 'olduser', []]);
    } finally {
      s.t.setNow(new Date());
      await ok('scope:set', ['opcenter.account-cleanup', false]);
    }
  });
});

describe('group operations are all or nothing', () => {
  it('a suspend of 10,000 sites that fails on one row suspends none', async () => {
    const db = s.t.app.deps.db;
    const plan = await db.selectFrom('plans').select('id').where('uid', '=', 'basic').executeTakeFirstOrThrow();
    await sql`insert into clients (reseller_id, plan_id, name, email_address, status, invoice, parent_invoice, updated_at)
              select null, ${plan.id}, 'bulk ' || g, 'bulk' || g || '@example.test', 'active', case when g = 1 then 'bulk-group' end, case when g > 1 then 'bulk-group' end, now()
              from generate_series(1, 10000) g`.execute(db);
    const last = await db.selectFrom('clients').select(sql<number>`max(id)`.as('id')).where('parent_invoice', '=', 'bulk-group').executeTakeFirstOrThrow();
    // A row that refuses to change, as a constraint or a lost connection would, near the end of the set.
    await sql`create function refuse_row() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`.execute(db);
    await sql.raw(`create trigger refuse_one before update on clients for each row when (old.id = ${last.id} and new.status = 'suspended') execute function refuse_row()`).execute(db);
    try {
      const r = await s.fn('admin:deactivate-site', ['bulk-group', 'bulk']);
      expect(r.status).toBe(500);
      const suspended = await db.selectFrom('clients').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'suspended').where((eb) => eb.or([eb('invoice', '=', 'bulk-group'), eb('parent_invoice', '=', 'bulk-group')])).executeTakeFirstOrThrow();
      expect(suspended.n).toBe(0);
      const events = await db.selectFrom('audit_events').select(sql<number>`count(*)::int`.as('n')).where('action', '=', 'client.suspended').where('changes', '@>', sql<never>`'{"suspend_reason": {"after": "bulk"}}'::jsonb`).executeTakeFirstOrThrow();
      expect(events.n).toBe(0);
    } finally {
      await sql`drop trigger refuse_one on clients`.execute(db);
      await sql`drop function refuse_row()`.execute(db);
    }
    // Without the obstacle the same call suspends all 10,000 in one go.
    const r = await s.fn('admin:deactivate-site', ['bulk-group', 'bulk']);
    expect(r.status).toBe(200);
    const suspended = await db.selectFrom('clients').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'suspended').where((eb) => eb.or([eb('invoice', '=', 'bulk-group'), eb('parent_invoice', '=', 'bulk-group')])).executeTakeFirstOrThrow();
    expect(suspended.n).toBe(10_000);
  });
});
