import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../agent/agent-harness.js';
import { waitFor } from '../jobs-process/process-harness.js';
import { pgAdmin, startInstanceWorld, type InstanceWorld } from './instance-world.js';

/*
 * Every user of an instance's res_users reaches the doors (docs/adr/0027, "Addendum: every user
 * reported"). A control plane on a real port, a real `hostplane agent` (role db) on the machine's
 * PostgreSQL, reaching the control plane through a recording proxy so the test sees what the node
 * sends; an Odoo-shaped instance whose res_users the test fills with 1,204 rows (more than a page of
 * the contract and of the doors), hostile logins among them. Everything made here is dropped.
 */
const BULK = 1200;
const HOSTILE = {
  quotes: `o'brien"); drop table res_users; --@evil.test`,
  html: '<script>alert(1)</script>@evil.test',
  control: 'bell\u0007esc\u001b[31mdel\u007f@evil.test',
  // 253 characters, then one of two UTF-16 units across the contract's 254, then more.
  long: `${'L'.repeat(253)}\u{1F600}${'x'.repeat(60)}@evil.test`,
};

let w: InstanceWorld;
let cp: ControlPlane;
let proxy: http.Server;

interface UsageBody {
  samples: { kind: string; id: string; users?: unknown; usersDigest?: string; usersTotal?: number }[];
  userLists?: { id: string; digest: string; total: number; offset: number; users: { login: string }[] }[];
}
/** Every usage request the agent sent, in order, as the control plane received it. */
const sent: UsageBody[] = [];

/** Forwards the agent's requests to the control plane, keeping the bodies of its usage reports. */
function startProxy(target: string): Promise<string> {
  proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === '/agent/v1/usage') sent.push(JSON.parse(body.toString('utf8')) as UsageBody);
      const headers = { ...req.headers };
      delete headers.host;
      const out = http.request(target + req.url, { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`)));
}

const admin = pgAdmin;


interface Overview {
  users_source: string;
  users_count: number;
  users_total: number;
  users_next_offset: number | null;
  users: { id: number | null; login: string; name: string | null; role: string }[];
  pending_logins: string[];
}

async function overview(id: number, query = ''): Promise<{ status: number; body: Overview }> {
  return cp.admin<Overview>('GET', `/admin/v1/clients/${id}/instance${query}`);
}

let instance: { id: number; db: string; url: string };
/** Active internal users of the instance's res_users, counted by the test in the database itself. */
let internal: number;

beforeAll(async () => {
  w = await startInstanceWorld('a', { agentUrl: startProxy });
  cp = w.cp;
  const plan = await w.createPlan(`all-${w.prefix}`, w.template, BULK + Object.keys(HOSTILE).length + 1);
  instance = await w.createInstance(plan, w.host('big'));
  // The owner is in res_users before the instance's own users are added behind it.
  const hasOwner = () => admin("select 1 from res_users where login = 'owner'", [], instance.db).then((r) => (r.length ? true : undefined), () => undefined);
  await waitFor(hasOwner, 60_000, () => w.agent.output().slice(-2000), 250);
  await admin(
    `with p as (insert into res_partner (name, lang) select 'Bulk ' || g, 'en_US' from generate_series(1, ${BULK}) g returning id, name)
     insert into res_users (login, active, company_id, partner_id, share, notification_type) select lower(replace(name, ' ', '')) || '@big.test', true, 1, id, false, 'email' from p`,
    [],
    instance.db,
  );
  for (const login of Object.values(HOSTILE)) {
    const [p] = await admin<{ id: number }>("insert into res_partner (name, lang) values ($1, 'en_US') returning id", [`<b>${login}</b>`], instance.db);
    await admin("insert into res_users (login, active, company_id, partner_id, share, notification_type) values ($1, true, 1, $2, false, 'email')", [login, p!.id], instance.db);
  }
  internal = (await admin<{ n: number }>('select count(*)::int as n from res_users where active and not share', [], instance.db))[0]!.n;
}, 180_000);

afterAll(async () => {
  await w?.close();
  await new Promise((resolve) => proxy?.close(resolve));
}, 120_000);

/** The login as the contract carries it: at most 254 UTF-16 units, never half a character. */
const reported = (login: string) => (login === HOSTILE.long ? 'L'.repeat(253) : login);

describe('every user of res_users reaches the doors', () => {
  it('lists all of them, a page at a time, with users_total right; the node sent the list in pages', async () => {
    const first = await waitFor(
      async () => {
        const o = await overview(instance.id);
        return o.body.users_total === internal ? o : undefined;
      },
      90_000,
      () => w.agent.output().slice(-2000),
      250,
    );
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ users_source: 'instance_database', users_total: internal, users_next_offset: 1000, pending_logins: [] });
    expect(first.body.users).toHaveLength(1000);
    const second = await overview(instance.id, '?users_offset=1000');
    expect(second.body.users_next_offset).toBeNull();
    const logins = [...first.body.users, ...second.body.users].map((u) => u.login);
    const inDb = (await admin<{ login: string }>('select login from res_users where active and not share order by id', [], instance.db)).map((r) => reported(r.login));
    expect(logins).toEqual(inDb);
    // Every hostile login came through as the database holds it (the long one cut at the contract's size).
    for (const login of Object.values(HOSTILE)) expect(logins).toContain(reported(login));
    expect(second.body.users.find((u) => u.login === HOSTILE.quotes)).toMatchObject({ id: null, role: 'instance_user', name: `<b>${HOSTILE.quotes}</b>` });
    // Smaller pages of the same list.
    const paged: string[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const r = await overview(instance.id, `?users_offset=${offset}&users_limit=500`);
      expect(r.status).toBe(200);
      paged.push(...r.body.users.map((u) => u.login));
      offset = r.body.users_next_offset;
    }
    expect(paged).toEqual(inDb);
    // The administrator does not count against users,max.
    expect(first.body.users_count).toBe(internal - 1);

    // What the node sent: the whole list (every row of res_users) in pages of the contract, under one digest.
    const pages = sent.flatMap((b) => b.userLists ?? []).filter((p) => p.id === `db${instance.id}`);
    const rows = (await admin<{ n: number }>('select count(*)::int as n from res_users', [], instance.db))[0]!.n;
    const last = pages.filter((p) => p.total === rows);
    expect(last.map((p) => p.offset)).toEqual([0, 1000]);
    expect(last.reduce((n, p) => n + p.users.length, 0)).toBe(rows);
    const stored = await cp.app().deps.db.selectFrom('instance_databases').select(['users_digest', 'users_total']).where('client_id', '=', instance.id).executeTakeFirstOrThrow();
    expect(stored).toEqual({ users_digest: last[0]!.digest, users_total: rows });
    // No sample carries a list any more: only its digest.
    expect(sent.flatMap((b) => b.samples).filter((s) => s.id === `db${instance.id}` && s.users !== undefined)).toEqual([]);
  }, 120_000);

  it('a report with no change sends the digest only, not the list again', async () => {
    const stored = await cp.app().deps.db.selectFrom('instance_databases').select('users_digest').where('client_id', '=', instance.id).executeTakeFirstOrThrow();
    const from = sent.length;
    const samples = () => sent.slice(from).flatMap((b) => b.samples).filter((s) => s.id === `db${instance.id}`);
    await waitFor(async () => (samples().length >= 3 ? true : undefined), 60_000, () => w.agent.output().slice(-2000), 250);
    expect(samples().map((s) => s.usersDigest)).toEqual(samples().map(() => stored.users_digest));
    expect(sent.slice(from).flatMap((b) => b.userLists ?? [])).toEqual([]);
    const rows = await cp.app().deps.db.selectFrom('instance_reported_users').select((eb) => eb.fn.countAll<string>().as('n')).where('client_id', '=', instance.id).executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe((await admin<{ n: number }>('select count(*)::int as n from res_users', [], instance.db))[0]!.n);
  }, 90_000);

  it('the add-user limit check counts every reported user', async () => {
    // users,max is one more than the users made inside the instance: the owner and them fill it.
    const r = await cp.admin<{ error: { code: string; message: string } }>('POST', `/admin/v1/clients/${instance.id}/users`, { login: 'one-more@big.test', password: 'one more password' });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(r.body.error.message).toBe(`Maximum allowed users is ${BULK + Object.keys(HOSTILE).length + 1}, while you already have ${internal - 1}`);
    expect(await admin("select 1 from res_users where login = 'one-more@big.test'", [], instance.db)).toEqual([]);
  });

  it('a change inside the instance is sent again, whole, and replaces the list', async () => {
    await admin("update res_users set active = false where login = 'bulk7@big.test'", [], instance.db);
    const o = await waitFor(
      async () => {
        const x = await overview(instance.id);
        return x.body.users_total === internal - 1 ? x : undefined;
      },
      60_000,
      () => w.agent.output().slice(-2000),
      250,
    );
    expect(o.body.users.map((u) => u.login)).not.toContain('bulk7@big.test');
    const kept = await cp.app().deps.db.selectFrom('instance_reported_users').select('digest').distinct().where('client_id', '=', instance.id).execute();
    expect(kept).toHaveLength(1);
    await admin("update res_users set active = true where login = 'bulk7@big.test'", [], instance.db);
    await waitFor(async () => ((await overview(instance.id)).body.users_total === internal ? true : undefined), 60_000, () => w.agent.output().slice(-2000), 250);
  }, 150_000);
});

describe('the doors', () => {
  /** The owner's session, from the instance's login link (a link works once). */
  let cookie: string;
  beforeAll(async () => {
    const link = new URL(instance.url);
    const login = await fetch(`${cp.url}${link.pathname}${link.search}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
    cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  });

  it("the owner's console page lists the users escaped, a page at a time", async () => {
    const first = await (await fetch(`${cp.url}/console/clients/${instance.id}`, { headers: { cookie } })).text();
    expect(first).toContain(`<span id="users-count">${internal - 1} of ${BULK + Object.keys(HOSTILE).length + 1}</span>`);
    expect(first).toContain(`<p id="users-page">Users 1 to 1000 of ${internal}.</p>`);
    expect(first).toContain(`<a id="users-next" href="/console/clients/${instance.id}?users_offset=1000">`);
    const second = await fetch(`${cp.url}/console/clients/${instance.id}?users_offset=1000`, { headers: { cookie } });
    expect(second.status).toBe(200);
    const html = await second.text();
    expect(html).toContain('<code>&#60;script&#62;alert(1)&#60;/script&#62;@evil.test</code>');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('<code>o&#39;brien&#34;); drop table res_users; --@evil.test</code>');
    // Control characters are shown, not sent raw into the page.
    expect(html).toContain('<code>bell\\u0007esc\\u001b[31mdel\\u007f@evil.test</code>');
    expect([...html].filter((c) => /\p{Cc}/u.test(c) && !'\t\n\r'.includes(c))).toEqual([]);
    expect(html).toContain(`<code>${'L'.repeat(253)}</code>`);
    const bad = await fetch(`${cp.url}/console/clients/${instance.id}?users_offset=-1`, { headers: { cookie } });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('users_offset must be a whole number');
  });

  it('the client API pages the same list with the session', async () => {
    const r = await fetch(`${cp.url}/client/v1/instance?users_offset=1000&users_limit=3`, { headers: { cookie } });
    expect(r.status).toBe(200);
    const body = (await r.json()) as Overview;
    expect(body).toMatchObject({ users_total: internal, users_next_offset: 1003 });
    expect(body.users.map((u) => u.login)).toEqual((await overview(instance.id, '?users_offset=1000&users_limit=3')).body.users.map((u) => u.login));
    const anonymous = await fetch(`${cp.url}/client/v1/instance?users_offset=0`);
    expect(anonymous.status).toBe(401);
  });

  it('a page that is not one is refused in the door\'s format, and changes nothing', async () => {
    for (const q of ['?users_offset=-1', '?users_offset=abc', '?users_limit=0', '?users_limit=1001', '?users_offset=1&users_offset=2', "?users_offset=1'%20or%201=1"]) {
      const r = await cp.admin<{ error: { code: string; fields: Record<string, string[]> } }>('GET', `/admin/v1/clients/${instance.id}/instance${q}`);
      expect(r.status, q).toBe(422);
      expect(r.body.error.code, q).toBe('validation_failed');
    }
    const past = await overview(instance.id, `?users_offset=${internal + 10}`);
    expect(past.body).toMatchObject({ users: [], users_total: internal, users_next_offset: null });
  });
});
