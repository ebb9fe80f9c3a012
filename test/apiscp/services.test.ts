import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createReseller } from '../support/test-app.js';
import { fromPhp, requirePhpSoap, runPhpSoap, type PhpCall, type PhpOutcome } from '../support/php-soap.js';
import { ctxFor } from '../../src/core/context.js';
import { resealSecrets } from '../../src/core/secrets/secret.service.js';
import { startApiscpServer, type ApiscpServer } from './apiscp-harness.js';

// ApisCP's services and parameters as billing modules set them: WHMCS's and Clientexec's exact
// option maps, through the JSON door and PHP's SoapClient; typed values, units, 'null', passwords
// and crypt hashes that sign in, sealed secrets, and ApisCP's add/edit flags.

let s: ApiscpServer;
beforeAll(async () => {
  await requirePhpSoap();
  s = await startApiscpServer();
});
afterAll(() => s?.close());

const run = promisify(execFile);

async function ok(fn: string, args: unknown[]): Promise<unknown> {
  const r = await s.fn(fn, args);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.result;
}

async function refused(fn: string, args: unknown[], status = 422): Promise<{ code: string; message: string; fields?: Record<string, string[]> }> {
  const r = await s.fn(fn, args);
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body.error!;
}

const everything = () => ok('admin:collect', [null]) as Promise<Record<string, Record<string, unknown>>>;

async function siteOf(domain: string): Promise<Record<string, unknown> & { id: number }> {
  const found = (await ok('admin:collect', [null, [], [domain]])) as Record<string, Record<string, unknown>>;
  const entry = found[domain];
  expect(entry, `${domain} is a site`).toBeDefined();
  const byId = (await ok('admin:collect', [['siteinfo.domain'], { 'siteinfo.domain': domain }])) as Record<string, unknown>;
  return { ...entry!, id: Number(Object.keys(byId)[0]!.slice(4)) };
}

function signIn(clientId: number, login: string, password: string) {
  return s.t.app.server.inject({ method: 'POST', url: '/client/v1/session', payload: { client_id: clientId, login, password } });
}

async function storedMeta(id: number): Promise<Record<string, Record<string, unknown>>> {
  const { rows } = await sql<{ service_meta: Record<string, Record<string, unknown>> }>`select service_meta from clients where id = ${id}`.execute(s.t.app.deps.db);
  return rows[0]!.service_meta;
}

async function relayJobsFor(domain: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from jobs where kind = 'relay.apply' and payload->>'domain' = ${domain}`.execute(s.t.app.deps.db);
  return Number(rows[0]!.n);
}

// WHMCS's generateOptions (modules/servers/apnscp/lib/Helper.php), rule for rule, PHP's types kept:
// `(int)` of '' is 0, `?:` treats '' and '0' as false, configoption16 both enables PostgreSQL and
// limits its databases.
interface WhmcsProduct {
  domain: string;
  username: string;
  password: string;
  serviceid: number;
  email: string;
  clientIp: string | null;
  config: Record<number, string>;
}
function whmcsOptions(p: WhmcsProduct): Record<string, unknown> {
  const c = (n: number) => p.config[n] ?? '';
  const int = (v: string) => Number.parseInt(v, 10) || 0;
  const yes = (v: string) => v !== '' && v !== '0';
  const o: Record<string, unknown> = {};
  if (c(2) !== '') {
    o['aliases.enabled'] = int(c(2)) > 0;
    o['aliases.max'] = int(c(2));
  }
  o['auth.tpasswd'] = p.password;
  if (c(3) !== '') {
    o['bandwidth.threshold'] = int(c(3)) || 10000;
    o['bandwidth.units'] = 'GB';
  }
  o['billing.invoice'] = `whmcs-${p.serviceid}`;
  if (c(4) !== '') o['cgroup.memory'] = yes(c(4)) ? c(4) : 256;
  if (c(5) !== '') o['cgroup.cpu'] = yes(c(5)) ? c(5) : 2000;
  if (c(6) !== '') o['cgroup.cpuweight'] = yes(c(6)) ? c(6) : 1024;
  if (c(7) !== '') o['cgroup.proclimit'] = yes(c(7)) ? c(7) : 'null';
  if (c(8) !== '') {
    o['diskquota.quota'] = yes(c(8)) ? c(8) : 4000;
    o['diskquota.units'] = 'GB';
  }
  if (c(9) !== '') o['diskquota.fquota'] = yes(c(9)) ? c(9) : 'null';
  o['ftp.enabled'] = yes(c(10)) ? '1' : '0';
  o['ipinfo.enabled'] = '1';
  o['ipinfo.namebased'] = c(11) === 'shared' ? '1' : '0';
  o['logs.enabled'] = '1';
  o['mail.enabled'] = yes(c(13)) ? '1' : '0';
  for (const [engine, enable, limit] of [['mysql', 14, 15], ['pgsql', 16, 16]] as const) {
    if (int(c(enable)) === 0) o[`${engine}.enabled`] = '0';
    else {
      o[`${engine}.enabled`] = '1';
      o[`${engine}.dbaseadmin`] = p.username;
      o[`${engine}.dbaseprefix`] = `${p.username}_`;
      if (c(limit) !== '') o[`${engine}.dbasenum`] = c(limit) === '-1' ? 'null' : c(limit);
      o[`${engine}.passwd`] = p.password;
    }
  }
  o['rampart.whitelist'] = [p.clientIp];
  o['spamfilter.enabled'] = yes(c(17)) ? '1' : '0';
  o['spamfilter.provider'] = c(18);
  o['ssh.enabled'] = yes(c(19)) ? '1' : '0';
  o['ssh.jail'] = '1';
  o['ssl.enabled'] = yes(c(20)) ? '1' : '0';
  o['users.enabled'] = int(c(21)) === 0 ? '0' : '1';
  if (c(21) !== '') o['users.max'] = c(21) === '-1' ? 'null' : c(21);
  o['siteinfo.enabled'] = '1';
  o['siteinfo.domain'] = p.domain;
  o['siteinfo.admin_user'] = p.username;
  o['siteinfo.email'] = p.email;
  o['siteinfo.plan'] = c(1);
  return o;
}

const FILLED: Record<number, string> = { 1: 'basic', 2: '5', 3: '100', 4: '512', 5: '150', 6: '2048', 7: '200', 8: '10', 9: '50000', 10: 'on', 11: 'shared', 13: 'on', 14: '1', 15: '-1', 16: '1', 17: 'on', 18: 'spamassassin', 19: 'on', 20: 'on', 21: '-1' };
const EMPTY: Record<number, string> = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [i + 1, '']));

/** What collect shows for a WHMCS product with every option filled (FILLED). */
const filledView = (p: { domain: string; username: string; email: string; invoice: string; ip: string }) => ({
  siteinfo: { domain: p.domain, admin_user: p.username, email: p.email, plan: 'basic', enabled: 1 },
  auth: { tpasswd: null, cpasswd: null },
  mysql: { enabled: 1, dbaseprefix: `${p.username}_`, dbaseadmin: p.username, dbasenum: null, passwd: null },
  pgsql: { enabled: 1, dbaseprefix: `${p.username}_`, dbaseadmin: p.username, dbasenum: 1, passwd: null },
  // 10 GB and 100 GB, stored in MB.
  diskquota: { quota: 10240, units: 'MB', fquota: 50000 },
  bandwidth: { enabled: 1, threshold: 102400, units: 'MB', rollover: 1 },
  billing: { invoice: p.invoice, parent_invoice: null },
  aliases: { enabled: 1, max: 5, aliases: [] },
  // users,max 'null' (WHMCS's -1): no limit, which the user count writes as 0.
  users: { enabled: 1, max: 0 },
  sites: { max: null },
  ssh: { enabled: 1, jail: 1 },
  ftp: { enabled: 1 },
  logs: { enabled: 1 },
  mail: { enabled: 1 },
  ssl: { enabled: 1 },
  spamfilter: { enabled: 1, provider: 'spamassassin' },
  rampart: { enabled: 1, max: null, whitelist: [p.ip] },
  cgroup: { enabled: 1, memory: 512, cpu: 150, cpuweight: 2048, proclimit: 200, ioweight: null, readbw: null, writebw: null, readiops: null, writeiops: null },
  dns: { enabled: 1, provider: 'builtin', key: null },
  ipinfo: { enabled: 1, namebased: 1 },
  apache: { enabled: 1 },
  php: { enabled: 1 },
  active: true,
  domain: p.domain,
  // Where the site is served (this server has no hosting nodes: not placed).
  node: null,
});

/** What collect shows for a WHMCS product with every option left empty (EMPTY): the plan's values, services WHMCS turns off. */
const emptyView = (p: { domain: string; username: string; email: string; invoice: string }) => ({
  siteinfo: { domain: p.domain, admin_user: p.username, email: p.email, plan: 'basic', enabled: 1 },
  auth: { tpasswd: null, cpasswd: null },
  mysql: { enabled: 0, dbaseprefix: null, dbaseadmin: null, dbasenum: null, passwd: null },
  pgsql: { enabled: 0, dbaseprefix: null, dbaseadmin: null, dbasenum: null, passwd: null },
  diskquota: { quota: 1024, units: 'MB', fquota: null },
  bandwidth: { enabled: 1, threshold: null, units: 'MB', rollover: 1 },
  billing: { invoice: p.invoice, parent_invoice: null },
  aliases: { enabled: 1, max: null, aliases: [] },
  users: { enabled: 0, max: 1 },
  sites: { max: null },
  ssh: { enabled: 0, jail: 1 },
  ftp: { enabled: 0 },
  logs: { enabled: 1 },
  mail: { enabled: 0 },
  ssl: { enabled: 0 },
  // spamfilter,provider '' is the plan's value.
  spamfilter: { enabled: 0, provider: 'rspamd' },
  rampart: { enabled: 1, max: null, whitelist: [] },
  cgroup: { enabled: 1, memory: null, cpu: null, cpuweight: null, proclimit: null, ioweight: null, readbw: null, writebw: null, readiops: null, writeiops: null },
  dns: { enabled: 1, provider: 'builtin', key: null },
  ipinfo: { enabled: 1, namebased: 0 },
  apache: { enabled: 1 },
  php: { enabled: 1 },
  active: true,
  domain: p.domain,
  // Where the site is served (this server has no hosting nodes: not placed).
  node: null,
});

describe('WHMCS and Clientexec option maps (JSON door)', () => {
  it('WHMCS with every product option filled: each value typed, converted to MB, shown by collect; the password signs in', async () => {
    const product = { domain: 'whmcs-full.example', username: 'whmcsfull', password: 'Full-pass-123', serviceid: 101, email: 'buyer@whmcs-full.example', clientIp: '203.0.113.9', config: FILLED };
    const mark = await auditMark(s.t);
    expect(await ok('admin_add_site', [product.domain, product.username, whmcsOptions(product)])).toBe(true);
    const site = await siteOf(product.domain);
    const { id, ...shown } = site;
    expect(shown).toEqual(filledView({ ...product, invoice: 'whmcs-101', ip: '203.0.113.9' }));

    const session = await signIn(id, product.username, product.password);
    expect(session.statusCode, session.body).toBe(200);
    expect((await signIn(id, product.username, 'Wrong-pass-123')).statusCode).toBe(401);

    // The database passwords are kept sealed: never the plain text, not in the audit log either.
    const meta = await storedMeta(id);
    expect(typeof meta.mysql!.passwd).toBe('string');
    expect(meta.mysql!.passwd).not.toContain(product.password);
    expect(meta.pgsql!.passwd).not.toBe(meta.mysql!.passwd);
    expect(JSON.stringify(meta)).not.toContain(product.password);
    const events = await auditSince(s.t, mark);
    expect(events.map((e) => e.action)).toEqual(['client.created', 'client.logged_in']);
    expect(JSON.stringify(events)).not.toContain(product.password);
    expect(events[0]!.changes).toMatchObject({ service_meta: { after: { mysql: { passwd: '(set)' }, pgsql: { passwd: '(set)' } } }, admin_password: { after: 'auth,tpasswd' } });
  });

  it('WHMCS with every product option empty ([\'\'] as the client IP): the plan\'s values, services turned off', async () => {
    const product = { domain: 'whmcs-empty.example', username: 'whmcsempty', password: 'Empty-pass-123', serviceid: 102, email: 'buyer@whmcs-empty.example', clientIp: '', config: EMPTY };
    expect(await ok('admin_add_site', [product.domain, product.username, whmcsOptions(product)])).toBe(true);
    const { id, ...shown } = await siteOf(product.domain);
    expect(shown).toEqual(emptyView({ ...product, invoice: 'whmcs-102' }));
    expect((await signIn(id, product.username, product.password)).statusCode).toBe(200);
    expect(await storedMeta(id)).not.toHaveProperty('mysql.passwd');
  });

  it('WHMCS ChangePackage (reset: true) drops the overrides for the new plan and keeps the record and the sealed passwords', async () => {
    const planned = await s.t.app.server.inject({ method: 'POST', url: '/admin/v1/packages', headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { uid: 'svc-gold', name: 'Gold', parent_uid: 'basic', service_defaults: { diskquota: { quota: 50000 }, cgroup: { memory: 2048 } } } });
    expect(planned.statusCode, planned.body).toBe(201);
    const product = { domain: 'whmcs-upgrade.example', username: 'whmcsup', password: 'Upgrade-pass-1', serviceid: 103, email: 'buyer@whmcs-upgrade.example', clientIp: '198.51.100.7', config: FILLED };
    expect(await ok('admin_add_site', [product.domain, product.username, whmcsOptions(product)])).toBe(true);
    const before = await siteOf(product.domain);
    const sealedBefore = (await storedMeta(before.id)).mysql!.passwd;

    expect(await ok('admin_edit_site', [product.domain, { 'siteinfo.plan': 'svc-gold' }, { reset: true }])).toBe(true);
    const after = await siteOf(product.domain);
    expect(after).toMatchObject({
      siteinfo: { domain: product.domain, admin_user: product.username, email: product.email, plan: 'svc-gold' },
      billing: { invoice: 'whmcs-103' },
      diskquota: { quota: 50000, units: 'MB', fquota: null },
      cgroup: { memory: 2048, proclimit: null },
      rampart: { whitelist: [] },
      spamfilter: { enabled: 1, provider: 'rspamd' },
      users: { max: 0 },
    });
    expect((await storedMeta(after.id)).mysql!.passwd).toBe(sealedBefore);
    expect((await signIn(after.id, product.username, product.password)).statusCode).toBe(200);
  });

  it("Clientexec's create() and ChangePackage (reset: 'true'); its raw username argument defers to the options", async () => {
    const opts = { 'siteinfo.enabled': 1, 'siteinfo.domain': 'clientexec.example', 'siteinfo.admin_user': 'ceadmin', 'siteinfo.email': 'buyer@clientexec.example', 'siteinfo.plan': 'basic', 'auth.tpasswd': 'Clientexec-1' };
    expect(await ok('admin_add_site', ['ClientExec.example', 'CEadmin', opts])).toBe(true);
    const site = await siteOf('clientexec.example');
    expect(site).toMatchObject({ siteinfo: { admin_user: 'ceadmin', plan: 'basic' } });
    expect((await signIn(site.id, 'ceadmin', 'Clientexec-1')).statusCode).toBe(200);
    expect(await ok('admin_edit_site', ['clientexec.example', { 'siteinfo.plan': 'svc-gold' }, { reset: 'true' }])).toBe(true);
    expect(await siteOf('clientexec.example')).toMatchObject({ siteinfo: { plan: 'svc-gold', email: 'buyer@clientexec.example' }, diskquota: { quota: 50000 } });
  });
});

describe('values', () => {
  it("units convert to MB, rounded up; 'null' in any case is null where null is allowed", async () => {
    expect(await ok('admin:add-site', ['units.example', 'unitsadmin', { 'diskquota.quota': 1, 'diskquota.units': 'tb', 'bandwidth.threshold': 1500, 'bandwidth.units': 'KB', 'cgroup.proclimit': 'NULL', 'aliases.max': 'Null', 'mysql.dbasenum': 'null' }])).toBe(true);
    expect(await siteOf('units.example')).toMatchObject({
      diskquota: { quota: 1024 * 1024, units: 'MB' },
      bandwidth: { threshold: 2, units: 'MB' },
      cgroup: { proclimit: null },
      aliases: { max: null },
      mysql: { dbasenum: null },
    });
    // A unit alone changes nothing; a value alone is MB.
    expect(await ok('admin:edit-site', ['units.example', { 'diskquota.units': 'GB' }])).toBe(true);
    expect(await siteOf('units.example')).toMatchObject({ diskquota: { quota: 1024 * 1024, units: 'MB' } });
    expect(await ok('admin:edit-site', ['units.example', { 'diskquota.quota': 3000 }])).toBe(true);
    expect(await siteOf('units.example')).toMatchObject({ diskquota: { quota: 3000 } });
    expect((await refused('admin:edit-site', ['units.example', { 'diskquota.quota': 1025, 'diskquota.units': 'TB' }])).message).toBe('diskquota,quota: 1025 TB is 1074790400 MB, more than the most allowed (1073741824 MB)');
  });

  it('a site\'s own null is a value: it wins over the plan\'s', async () => {
    expect(await ok('admin:add-site', ['own-null.example', 'ownnull', { 'siteinfo.plan': 'svc-gold', 'cgroup.memory': 'null' }])).toBe(true);
    expect(await siteOf('own-null.example')).toMatchObject({ cgroup: { memory: null }, diskquota: { quota: 50000 } });
  });

  it('database names derive from the admin login while unset, and follow a rename', async () => {
    expect(await ok('admin:add-site', ['derive.example', 'de.rive-me', { 'pgsql.enabled': 0 }])).toBe(true);
    expect(await siteOf('derive.example')).toMatchObject({ mysql: { enabled: 1, dbaseprefix: 'de_rive_me_', dbaseadmin: 'de_rive_me' }, pgsql: { enabled: 0, dbaseprefix: null, dbaseadmin: null } });
    expect(await ok('admin:edit-site', ['derive.example', { 'siteinfo.admin_user': 'renamed' }])).toBe(true);
    expect(await siteOf('derive.example')).toMatchObject({ mysql: { dbaseprefix: 'renamed_', dbaseadmin: 'renamed' } });
    expect(await ok('admin:edit-site', ['derive.example', { 'mysql.dbaseprefix': 'shop_', 'pgsql.dbaseadmin': 'A'.repeat(63) }])).toBe(true);
    expect(await siteOf('derive.example')).toMatchObject({ mysql: { dbaseprefix: 'shop_', dbaseadmin: 'renamed' }, pgsql: { dbaseadmin: 'A'.repeat(63) } });
  });

  const BAD: [Record<string, unknown>, string][] = [
    [{ 'nosuch.enabled': 1 }, 'nosuch: unknown service'],
    [{ 'mysql.nosuch': 1 }, 'mysql,nosuch: unknown parameter of service mysql'],
    [{ 'ssh.enabled': 'null' }, 'ssh,enabled: must be 1 or 0'],
    [{ 'ssh.jail': 2 }, 'ssh,jail: must be 1 or 0'],
    [{ 'mail.enabled': 'yes please' }, 'mail,enabled: must be 1 or 0'],
    [{ 'mysql.dbaseprefix': 'shop' }, 'mysql,dbaseprefix: "shop" must start with a letter, use only letters, digits or "_", and end in "_" (at most 40)'],
    [{ 'pgsql.dbaseprefix': '1shop_' }, 'pgsql,dbaseprefix: "1shop_" must start with a letter, use only letters, digits or "_", and end in "_" (at most 40)'],
    [{ 'mysql.dbaseadmin': 'a'.repeat(33) }, `mysql,dbaseadmin: "${'a'.repeat(33)}" must start with a letter and use only letters, digits or "_" (at most 32)`],
    [{ 'pgsql.dbaseadmin': 'a'.repeat(64) }, `pgsql,dbaseadmin: "${'a'.repeat(64)}" must start with a letter and use only letters, digits or "_" (at most 63)`],
    [{ 'mysql.dbaseadmin': "x'; drop table users; --" }, 'mysql,dbaseadmin: "x\'; drop table users; --" must start with a letter and use only letters, digits or "_" (at most 32)'],
    [{ 'mysql.dbasenum': 1000 }, 'mysql,dbasenum: must be at most 999'],
    [{ 'pgsql.dbasenum': -1 }, 'pgsql,dbasenum: must be at least 0'],
    [{ 'mysql.passwd': 'short' }, 'mysql,passwd: must be 7 to 1024 characters'],
    [{ 'diskquota.units': 'PB' }, 'diskquota,units: "PB" must be one of B, KB, MB, GB, TB'],
    [{ 'diskquota.fquota': 1.5 }, 'diskquota,fquota: 1.5 is not a whole number'],
    [{ 'bandwidth.rollover': 32 }, 'bandwidth,rollover: must be at most 31'],
    [{ 'bandwidth.rollover': 0 }, 'bandwidth,rollover: must be at least 1'],
    [{ 'cgroup.proclimit': 4097 }, 'cgroup,proclimit: must be at most 4096'],
    [{ 'cgroup.memory': 'lots' }, 'cgroup,memory: "lots" is not a whole number'],
    [{ 'rampart.whitelist': ['203.0.113.9', 'not-an-ip'] }, 'rampart,whitelist: "not-an-ip" is not an IP address'],
    [{ 'rampart.whitelist': ['10.0.0.0/33'] }, 'rampart,whitelist: "10.0.0.0/33" is not an IP address'],
    [{ 'rampart.max': 5000 }, 'rampart,max: must be at most 4096'],
    [{ 'spamfilter.provider': 'bogofilter' }, 'spamfilter,provider: "bogofilter" must be one of spamassassin, rspamd'],
    [{ 'dns.provider': 'not a name' }, 'dns,provider: "not a name" must be a name: a letter, then letters, digits, "_" or "-" (at most 32)'],
    [{ 'dns.key': 'k'.repeat(1025) }, 'dns,key: must be at most 1024 characters'],
    [{ 'auth.tpasswd': 'sixchr' }, 'auth,tpasswd: must be 7 to 1024 characters'],
    [{ 'auth.tpasswd': 'p'.repeat(1025) }, 'auth,tpasswd: must be 7 to 1024 characters'],
    [{ 'auth.tpasswd': 12345678 }, 'auth,tpasswd: must be text'],
    [{ 'auth.cpasswd': '$1$salt$qJH7.N4xYta3aEG/dfqo/0' }, 'auth,cpasswd: must be a crypt(3) hash: bcrypt ($2y$, $2a$, $2b$) or SHA-crypt ($5$, $6$)'],
    [{ 'auth.cpasswd': 'plain-text-password' }, 'auth,cpasswd: must be a crypt(3) hash: bcrypt ($2y$, $2a$, $2b$) or SHA-crypt ($5$, $6$)'],
    [{ 'auth.cpasswd': `$6$${'x'.repeat(300)}` }, 'auth,cpasswd: must be a crypt(3) hash'],
    [{ 'auth.tpasswd': 'Both-given-1', 'auth.cpasswd': '$5$saltsalt$4jlykDYPxmLSDnuwjHbkYHJjelym.ZUDD3A4oKKgY2B' }, 'auth,cpasswd: give auth,tpasswd or auth,cpasswd, not both'],
    [{ 'users.max': 'null', 'users.enabled': 'maybe' }, 'users,enabled: must be 1 or 0'],
    [{ 'siteinfo.plan': 'null' }, 'siteinfo,plan: no plan named null'],
  ];

  it('bad values, unknown services and oversized text are refused naming the parameter; nothing is created', async () => {
    const before = await everything();
    for (const [opts, message] of BAD) {
      const error = await refused('admin:add-site', ['bad-value.example', 'badvalue', opts]);
      expect(error.message, JSON.stringify(opts)).toBe(message);
    }
    expect(await everything()).toEqual(before);
  });

  it('the same values are refused by admin:edit-site, which changes nothing', async () => {
    expect(await ok('admin:add-site', ['edit-bad.example', 'editbad', { 'auth.tpasswd': 'Edit-bad-pass', 'cgroup.memory': 300 }])).toBe(true);
    const { id } = await siteOf('edit-bad.example');
    const before = await everything();
    const meta = await storedMeta(id);
    for (const [opts, message] of BAD.filter(([o]) => !('siteinfo.plan' in o))) {
      const error = await refused('admin:edit-site', ['edit-bad.example', { 'diskquota.quota': 7, ...opts }]);
      expect(error.message, JSON.stringify(opts)).toBe(message);
    }
    expect(await everything()).toEqual(before);
    expect(await storedMeta(id)).toEqual(meta);
    expect((await signIn(id, 'editbad', 'Edit-bad-pass')).statusCode).toBe(200);
  });
});

describe('passwords and secrets', () => {
  async function opensslHash(kind: '-5' | '-6', salt: string, password: string): Promise<string> {
    return (await run('openssl', ['passwd', kind, '-salt', salt, password])).stdout.trim();
  }
  async function phpBcrypt(password: string): Promise<string> {
    return (await run('php', ['-r', 'echo password_hash($argv[1], PASSWORD_BCRYPT, ["cost" => 5]);', password])).stdout.trim();
  }

  it('crypt(3) hashes from openssl and PHP sign in: SHA-512, SHA-256 (with rounds), bcrypt $2y$ and $2a$', async () => {
    const cases = [
      { domain: 'crypt6.example', login: 'cryptsix', password: 'Sha512-secret', hash: await opensslHash('-6', 'Salt6salt', 'Sha512-secret') },
      { domain: 'crypt5.example', login: 'cryptfive', password: 'Sha256-secret', hash: await opensslHash('-5', 'rounds=7000$Salt5', 'Sha256-secret') },
      { domain: 'crypt2y.example', login: 'crypttwoy', password: 'Bcrypt-secret', hash: await phpBcrypt('Bcrypt-secret') },
      { domain: 'crypt2a.example', login: 'crypttwoa', password: 'Bcrypt-other', hash: (await phpBcrypt('Bcrypt-other')).replace(/^\$2y\$/, '$2a$') },
    ];
    for (const c of cases) {
      expect(c.hash).toMatch(/^\$(6|5|2y|2a)\$/);
      expect(await ok('admin:add-site', [c.domain, c.login, { 'auth.cpasswd': c.hash }])).toBe(true);
      const site = await siteOf(c.domain);
      expect(site.auth).toEqual({ tpasswd: null, cpasswd: null });
      expect((await signIn(site.id, c.login, c.password)).statusCode, c.hash).toBe(200);
      expect((await signIn(site.id, c.login, `${c.password}x`)).statusCode, c.hash).toBe(401);
      // The first good sign-in replaced the billing system's hash by our own; the password still works.
      const stored = await s.t.app.dbHandle.db.selectFrom('users').select('password_hash').where('client_id', '=', site.id).where('login', '=', c.login).executeTakeFirstOrThrow();
      expect(stored.password_hash, c.hash).toMatch(/^scrypt\$/);
      expect((await signIn(site.id, c.login, c.password)).statusCode, c.hash).toBe(200);
    }
  });

  it('auth,tpasswd and auth,cpasswd change the admin password of an existing site; bad hashes change nothing', async () => {
    expect(await ok('admin:add-site', ['repass.example', 'repass', { 'auth.tpasswd': 'First-pass-1' }])).toBe(true);
    const { id } = await siteOf('repass.example');
    expect(await ok('admin:edit-site', ['repass.example', { 'auth.tpasswd': 'Second-pass-2' }, { report: 1 }])).toEqual([{ site: `site${id}`, domain: 'repass.example', changes: [{ param: 'auth,tpasswd', before: null, after: '(changed)' }] }]);
    expect((await signIn(id, 'repass', 'First-pass-1')).statusCode).toBe(401);
    expect((await signIn(id, 'repass', 'Second-pass-2')).statusCode).toBe(200);
    expect(await ok('admin:edit-site', ['repass.example', { 'auth.cpasswd': await opensslHash('-6', 'abc', 'Third-pass-3') }])).toBe(true);
    expect((await signIn(id, 'repass', 'Third-pass-3')).statusCode).toBe(200);
    for (const bad of ['$2y$31$abcdefghijklmnopqrstuuJq8mZ0g6y8vYxN2S9pQ0Yx0J6Yv8D7eK', '$6$rounds=999999$salt$' + 'a'.repeat(86), '$6$salt$tooshort']) {
      await refused('admin:edit-site', ['repass.example', { 'auth.cpasswd': bad }]);
    }
    expect((await signIn(id, 'repass', 'Third-pass-3')).statusCode).toBe(200);
  });

  it('secrets are never shown nor selectable, and a group edit cannot set them', async () => {
    expect(await ok('admin:add-site', ['secret.example', 'secretive', { 'mysql.passwd': 'Db-secret-123', 'dns.provider': 'cloudflare', 'dns.key': 'cf-api-token-xyz' }])).toBe(true);
    const { id } = await siteOf('secret.example');
    expect((await ok('admin:collect', [['mysql.passwd', 'pgsql.passwd', 'dns.key', 'auth.tpasswd', 'auth.cpasswd', 'dns.provider'], [], ['secret.example']])) as object).toEqual({
      'secret.example': { mysql: { passwd: null }, pgsql: { passwd: null }, dns: { key: null, provider: 'cloudflare' }, auth: { tpasswd: null, cpasswd: null }, active: true, domain: 'secret.example' },
    });
    const stored = JSON.stringify(await storedMeta(id));
    expect(stored).not.toContain('Db-secret-123');
    expect(stored).not.toContain('cf-api-token-xyz');
    expect((await refused('admin:collect', [[], { 'mysql.passwd': 'Db-secret-123' }])).message).toBe('mysql,passwd is never shown, so sites cannot be selected by it');
    // A plan cannot carry a site's password.
    const planned = await s.t.app.server.inject({ method: 'POST', url: '/admin/v1/packages', headers: { authorization: `Bearer ${s.t.operatorKey}` }, payload: { uid: 'svc-secret', name: 'Secret', service_defaults: { mysql: { passwd: 'Plan-secret-1' } } } });
    expect(planned.statusCode).toBe(422);
    expect(planned.json().error.fields).toEqual({ 'service_defaults.mysql.passwd': ['mysql,passwd belongs to each site; a plan cannot set it'] });
    // Several sites at once: refused (each secret is sealed for its own site).
    expect(await ok('admin:add-site', ['secret-sub.example', 'secretsub', { 'billing.parent_invoice': 'SECRET-1' }])).toBe(true);
    expect(await ok('admin:edit-site', ['secret.example', { 'billing.invoice': 'SECRET-1' }])).toBe(true);
    expect((await refused('admin:edit-site', ['SECRET-1', { 'auth.tpasswd': 'Group-pass-1' }])).message).toContain('auth,tpasswd can only be changed on one site at a time');
    expect((await refused('admin:edit-site', ['SECRET-1', { 'mysql.passwd': 'Group-pass-1' }])).message).toContain('mysql,passwd can only be changed on one site at a time');
  });

  it('each secret opens only for its own site and parameter, and a key rotation reseals it', async () => {
    expect(await ok('admin:add-site', ['rotate.example', 'rotator', { 'pgsql.passwd': 'Pg-secret-456', 'dns.key': 'dns-key-789' }])).toBe(true);
    const { id } = await siteOf('rotate.example');
    const keyring = s.t.app.deps.settings.keyring;
    const before = await storedMeta(id);
    const sealed = before.pgsql!.passwd as string;
    expect(keyring.open(sealed, `pgsql,passwd of site ${id}`)).toBe('Pg-secret-456');
    expect(() => keyring.open(sealed, `mysql,passwd of site ${id}`)).toThrow();
    expect(() => keyring.open(sealed, `pgsql,passwd of site ${id + 1}`)).toThrow();

    const r = await resealSecrets(ctxFor(s.t.app.deps, { kind: 'system' }), keyring.primaryId);
    expect(r.resealed).toBeGreaterThanOrEqual(2);
    const after = await storedMeta(id);
    expect(after.pgsql!.passwd).not.toBe(sealed);
    expect(keyring.open(after.pgsql!.passwd as string, `pgsql,passwd of site ${id}`)).toBe('Pg-secret-456');
    expect(keyring.open(after.dns!.key as string, `dns,key of site ${id}`)).toBe('dns-key-789');
    // Clearing: null removes the value.
    expect(await ok('admin:edit-site', ['rotate.example', { 'dns.key': 'null' }])).toBe(true);
    expect((await storedMeta(id)).dns!.key).toBeNull();
  });
});

describe('flags', () => {
  it("admin:add-site takes ApisCP's flags (plan, force, bootstrap, notify) or a plan name; unknown flags change nothing", async () => {
    expect(await ok('admin:add-site', ['flag-plan.example', 'flagplan', { 'siteinfo.plan': 'basic' }, { plan: 'svc-gold', force: true, bootstrap: 1, notify: '1' }])).toBe(true);
    expect(await siteOf('flag-plan.example')).toMatchObject({ siteinfo: { plan: 'svc-gold' }, diskquota: { quota: 50000 } });
    expect(await ok('admin:add-site', ['string-plan.example', 'stringplan', [], 'svc-gold'])).toBe(true);
    expect(await siteOf('string-plan.example')).toMatchObject({ siteinfo: { plan: 'svc-gold' } });
    const before = await everything();
    expect((await refused('admin:add-site', ['flag-bad.example', 'flagbad', [], { bogus: 1 }])).fields).toEqual({ flags: ['unknown option bogus; known: plan, force, bootstrap, notify'] });
    expect((await refused('admin:add-site', ['flag-bad.example', 'flagbad', [], { plan: 'no-such-plan' }])).message).toBe('siteinfo,plan: no plan named no-such-plan');
    await refused('admin:add-site', ['flag-bad.example', 'flagbad', [], 42]);
    expect(await everything()).toEqual(before);
  });

  it('admin:edit-site: plan, backup and force; reconfig queues the domains again; all edits every live site', async () => {
    expect(await ok('admin:add-site', ['reconfig.example', 'reconfig', { 'aliases.aliases': ['www.reconfig.example'] }])).toBe(true);
    expect(await ok('admin:edit-site', ['reconfig.example', [], { plan: 'svc-gold', backup: true, force: 1 }])).toBe(true);
    expect(await siteOf('reconfig.example')).toMatchObject({ siteinfo: { plan: 'svc-gold' } });

    const queued = [await relayJobsFor('reconfig.example'), await relayJobsFor('www.reconfig.example')];
    expect(await ok('admin:edit-site', ['reconfig.example', [], { reconfig: true }])).toBe(true);
    expect([await relayJobsFor('reconfig.example'), await relayJobsFor('www.reconfig.example')]).toEqual(queued.map((n) => n + 1));
    // Without reconfig an empty edit is still refused.
    expect((await refused('admin:edit-site', ['reconfig.example', []])).message).toBe('nothing to change: give at least one service,param=value');

    const sites = Object.keys(await everything());
    const dry = (await ok('admin:edit-site', [null, { 'cgroup.cpuweight': 77 }, { all: true, 'dry-run': true }])) as { site: string }[];
    expect(dry.map((d) => d.site).sort()).toEqual(sites.sort());
    expect(await ok('admin:edit-site', [null, { 'cgroup.cpuweight': 77 }, { all: '1' }])).toBe(true);
    const after = (await ok('admin:collect', [['cgroup.cpuweight']])) as Record<string, { cgroup: { cpuweight: number } }>;
    expect(Object.values(after).map((v) => v.cgroup.cpuweight)).toEqual(sites.map(() => 77));
    expect((await refused('admin:edit-site', [null, { 'cgroup.cpuweight': 1 }])).message).toBe('admin:edit-site acts on a site: pass -d SITE');
    expect((await refused('admin:edit-site', [null, { 'auth.tpasswd': 'Everyone-1' }, { all: true }])).message).toContain('auth,tpasswd can only be changed on one site at a time');
  });
});

describe('a reseller key', () => {
  it('all edits only the reseller\'s own sites; the operator\'s sites are untouched', async () => {
    const r = await createReseller(s.t);
    const auth = `Bearer ${r.api_token}:${r.api_key}`;
    const add = await s.fn('admin:add-site', ['reseller-own.example', 'resown', { 'cgroup.memory': 100 }], {}, auth);
    expect(add.status, JSON.stringify(add.body)).toBe(200);
    const before = await everything();
    const edited = await s.fn('admin:edit-site', [null, { 'cgroup.memory': 999 }, { all: true, report: true }], {}, auth);
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    const own = (await siteOf('reseller-own.example')).id;
    expect((edited.body.result as { site: string }[]).map((e) => e.site)).toEqual([`site${own}`]);
    const after = await everything();
    for (const [key, entry] of Object.entries(after)) {
      if (key === `site${own}`) expect(entry).toMatchObject({ cgroup: { memory: 999 } });
      else expect(entry).toEqual(before[key]);
    }
  });
});

describe('SOAP door (PHP SoapClient) with WHMCS and Clientexec', () => {
  const soap = (calls: PhpCall[]): Promise<PhpOutcome[]> => runPhpSoap(calls, { wsdl: `${s.url}/apnscp.wsdl`, location: `${s.url}/soap?authkey=${encodeURIComponent(s.t.operatorKey)}` });
  const value = (o: PhpOutcome | undefined): unknown => {
    if (!o?.ok) throw new Error(`expected a result, got ${JSON.stringify(o)}`);
    return fromPhp(o.value!);
  };

  it("creates WHMCS's filled and empty products ([null] as client IP) and Clientexec's, changes packages, and signs in", async () => {
    const full = { domain: 'soap-full.example', username: 'soapfull', password: 'Soap-full-1', serviceid: 201, email: 'buyer@soap-full.example', clientIp: '2001:DB8::1', config: FILLED };
    const empty = { domain: 'soap-empty.example', username: 'soapempty', password: 'Soap-empty-1', serviceid: 202, email: 'buyer@soap-empty.example', clientIp: null, config: EMPTY };
    const ce = { 'siteinfo.enabled': 1, 'siteinfo.domain': 'soap-ce.example', 'siteinfo.admin_user': 'soapce', 'siteinfo.email': 'buyer@soap-ce.example', 'siteinfo.plan': 'basic', 'auth.tpasswd': 'Soap-ce-pass' };
    const out = await soap([
      { op: 'admin_add_site', args: [full.domain, full.username, whmcsOptions(full)] },
      { op: 'admin_add_site', args: [empty.domain, empty.username, whmcsOptions(empty)] },
      { op: 'admin_add_site', args: ['Soap-CE.example', 'SoapCE', ce] },
      { op: 'admin_collect', args: [null, [], [full.domain, empty.domain]] },
      { op: 'admin_edit_site', args: [full.domain, { 'siteinfo.plan': 'svc-gold' }, { reset: true }] },
      { op: 'admin_edit_site', args: ['soap-ce.example', { 'siteinfo.plan': 'svc-gold' }, { reset: 'true' }] },
      { op: 'admin_collect', args: [['siteinfo.plan', 'diskquota', 'rampart.whitelist'], [], [full.domain, 'soap-ce.example']] },
      // As ApisCP does, a refused call answers false, or a fault with Abort-On: error.
      { op: 'admin_add_site', args: ['soap-bad.example', 'soapbad', { ...whmcsOptions({ ...full, domain: 'soap-bad.example', username: 'soapbad' }), 'cgroup.proclimit': '9999' }], headers: ['Abort-On: error'] },
      { op: 'admin_add_site', args: ['soap-bad.example', 'soapbad', { ...whmcsOptions({ ...full, domain: 'soap-bad.example', username: 'soapbad' }), 'mysql.dbaseprefix': 'no-underscore' }] },
    ]);
    expect(out.slice(0, 7).every((o) => o.ok), JSON.stringify(out.filter((o) => !o.ok))).toBe(true);
    const [addedFull, addedEmpty, addedCe, collected, changedFull, changedCe, afterChange, bad, badQuiet] = out;
    expect([value(addedFull), value(addedEmpty), value(addedCe), value(changedFull), value(changedCe)]).toEqual([true, true, true, true, true]);
    const sites = value(collected) as Record<string, unknown>;
    expect(sites[full.domain]).toEqual(filledView({ ...full, invoice: 'whmcs-201', ip: '2001:db8::1' }));
    expect(sites[empty.domain]).toEqual(emptyView({ ...empty, invoice: 'whmcs-202' }));
    expect(value(afterChange)).toEqual({
      [full.domain]: { siteinfo: { plan: 'svc-gold' }, diskquota: { quota: 50000, units: 'MB', fquota: null }, rampart: { whitelist: [] }, active: true, domain: full.domain },
      'soap-ce.example': { siteinfo: { plan: 'svc-gold' }, diskquota: { quota: 50000, units: 'MB', fquota: null }, rampart: { whitelist: [] }, active: true, domain: 'soap-ce.example' },
    });
    expect(bad?.fault?.faultstring, JSON.stringify(bad)).toContain('cgroup,proclimit: must be at most 4096');
    expect(value(badQuiet)).toBe(false);

    for (const [domain, login, password] of [[full.domain, full.username, full.password], [empty.domain, empty.username, empty.password], ['soap-ce.example', 'soapce', 'Soap-ce-pass']] as const) {
      const { id } = await siteOf(domain);
      expect((await signIn(id, login, password)).statusCode, domain).toBe(200);
    }
    expect((await ok('admin:collect', [['siteinfo.domain'], { 'siteinfo.domain': 'soap-bad.example' }])) as object).toEqual({});
  });
});
