import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMark, auditSince } from '../support/audit.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// What suspending a reseller does to its clients' access: the login links it issued stop working
// (used or not), and the client-area sessions they opened end (also those switched from them), for
// good; its own console sessions end for good. Its clients stay active, and sessions their own users
// opened with a password, or an owner with their CRM sign-in, go on. Another reseller is untouched.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

let t: TestApp;
let acme: ResellerFixture;
let other: ResellerFixture;
const operator = () => ({ authorization: `Bearer ${t.operatorKey}` });
const json = { 'content-type': 'application/json' };

async function inject(method: Method, url: string, headers: Record<string, string> = {}, payload?: unknown) {
  const res = await t.app.server.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as Json } : {}) });
  let body: Json | string = res.body;
  try {
    body = JSON.parse(res.body) as Json;
  } catch {
    // an HTML page
  }
  return { status: res.statusCode, body: body as Json, headers: res.headers, text: res.body };
}

let seq = 0;
async function newClient(r: ResellerFixture): Promise<{ id: number; domain: string }> {
  const domain = `susp${++seq}-${Math.random().toString(36).slice(2, 6)}.example`;
  const res = await inject('POST', '/v1/clients', { authorization: r.auth }, { package_uid: 'spamstopshere-standard', user_count: 1, name: `Susp ${seq}`, email_address: `s${seq}@example.com`, domains: [{ name: domain }] });
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id, domain };
}

async function issueLink(r: ResellerFixture, clientId: number): Promise<string> {
  const res = await inject('GET', `/v1/clients/${clientId}/auth_token`, { authorization: r.auth });
  expect(res.status, res.text).toBe(200);
  return res.body.path as string;
}

async function follow(path: string): Promise<string> {
  const landing = await inject('GET', path);
  expect(landing.status, landing.text).toBe(303);
  return String(landing.headers['set-cookie']).split(';')[0]!;
}

const cpcmd = async (name: string, args: unknown[]) => {
  const res = await inject('POST', `/api/v1/cpcmd/${name}`, { ...operator(), ...json }, { args });
  expect(res.status, res.text).toBe(200);
  return res.body.result;
};

/** Whether a client-area cookie still opens the client API (session and a read). */
async function alive(cookie: string): Promise<boolean> {
  const state = await inject('GET', '/client/v1/session', { cookie });
  const domains = await inject('GET', '/client/v1/domains', { cookie });
  expect(domains.status === 200).toBe(state.body.signed_in === true);
  if (domains.status !== 200) expect(domains.body.error.code).toBe('unauthenticated');
  return domains.status === 200;
}

const suspend = async (r: ResellerFixture) => expect((await inject('POST', `/admin/v1/resellers/${r.id}/suspend`, { ...operator(), ...json }, { reason: 'unpaid' })).status).toBe(200);
const activate = async (r: ResellerFixture) => expect((await inject('POST', `/admin/v1/resellers/${r.id}/activate`, operator())).status).toBe(200);

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  acme = await createReseller(t, { name: 'Acme Hosting' });
  other = await createReseller(t, { name: 'Other Hosting' });
});
afterAll(() => t?.close());

describe("a reseller's suspension and its clients' access", () => {
  it('links issued before (unused) are refused; link sessions end and stay ended after reactivation; password and owner sessions go on', async () => {
    const { id, domain } = await newClient(acme);
    // The client's own admin with a password (set first: a password change ends that user's sessions),
    // and an end user the operator made its owner.
    await cpcmd('auth:change-password', ['site admin password', 'admin', domain]);
    const unused = await issueLink(acme, id);
    const linkSession = await follow(await issueLink(acme, id));
    const own = await inject('POST', '/client/v1/session', json, { client_id: id, login: 'admin', password: 'site admin password' });
    expect(own.status, own.text).toBe(200);
    const ownCookie = String(own.headers['set-cookie']).split(';')[0]!;
    const email = `owner${seq}@example.com`;
    expect((await inject('POST', '/api/v1/users/register', json, { email, password: 'owner-password' })).status).toBe(200);
    expect((await inject('PUT', `/admin/v1/clients/${id}/owner`, { ...operator(), ...json }, { email })).status).toBe(200);
    const owner = await inject('POST', '/client/v1/session', json, { email, password: 'owner-password' });
    expect(owner.status, owner.text).toBe(200);
    const ownerCookie = String(owner.headers['set-cookie']).split(';')[0]!;

    // Another reseller's link session is a bystander.
    const bystander = await newClient(other);
    const otherSession = await follow(await issueLink(other, bystander.id));

    for (const c of [linkSession, ownCookie, ownerCookie, otherSession]) expect(await alive(c)).toBe(true);

    const mark = await auditMark(t);
    await suspend(acme);
    expect(await alive(linkSession)).toBe(false);
    const refused = await inject('GET', unused);
    expect(refused.status).toBe(403);
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect(refused.text).toContain('This login link cannot be used');
    for (const c of [ownCookie, ownerCookie, otherSession]) expect(await alive(c)).toBe(true);
    // The client itself is not suspended: its service goes on.
    expect((await inject('GET', `/admin/v1/clients/${id}`, operator())).body.status).toBe('active');
    const suspended = (await auditSince(t, mark)).find((e) => e.action === 'reseller.suspended');
    expect(suspended?.changes.client_sessions_ended).toEqual({ before: null, after: 1 });

    // Issuing new links is the reseller's API, which refuses it while suspended.
    expect((await inject('GET', `/v1/clients/${id}/auth_token`, { authorization: acme.auth })).status).toBe(403);

    await activate(acme);
    expect(await alive(linkSession)).toBe(false);
    // A fresh link after reactivation works again.
    expect(await alive(await follow(await issueLink(acme, id)))).toBe(true);
  });

  it('a session switched from a link session (master into subordinate) ends with it', async () => {
    const master = await newClient(acme);
    const sub = await newClient(acme);
    const inv = `inv-${seq}`;
    expect(await cpcmd('admin:edit-site', [`site${master.id}`, { 'billing.invoice': inv }])).toBeTruthy();
    expect(await cpcmd('admin:edit-site', [`site${sub.id}`, { 'billing.parent_invoice': inv }])).toBeTruthy();
    const cookie = await follow(await issueLink(acme, master.id));
    const state = await inject('GET', '/client/v1/session', { cookie });
    const switched = await inject('POST', '/client/v1/session/switch', { cookie, 'x-csrf-token': state.body.csrf_token, ...json }, { site: `site${sub.id}` });
    expect(switched.status, switched.text).toBe(200);
    const subCookie = String(switched.headers['set-cookie']).split(';')[0]!;
    expect(await alive(subCookie)).toBe(true);

    await suspend(acme);
    expect(await alive(cookie)).toBe(false);
    expect(await alive(subCookie)).toBe(false);
    await activate(acme);
    expect(await alive(subCookie)).toBe(false);
  });

  it("the reseller's console sessions end, and reactivation does not bring them back", async () => {
    const login = `acme-console-${seq}`;
    expect((await inject('PUT', `/admin/v1/resellers/${acme.id}/login`, { ...operator(), ...json }, { login, password: 'a long console password' })).status).toBe(200);
    const signed = await inject('POST', '/v1/session', json, { login, password: 'a long console password' });
    expect(signed.status, signed.text).toBe(200);
    const cookie = String(signed.headers['set-cookie']).split(';')[0]!;
    expect((await inject('GET', '/v1/clients/search', { cookie })).status).toBe(200);

    await suspend(acme);
    expect((await inject('GET', '/v1/session', { cookie })).body).toEqual({ signed_in: false });
    expect((await inject('GET', '/v1/clients/search', { cookie })).status).toBe(401);
    await activate(acme);
    expect((await inject('GET', '/v1/session', { cookie })).body).toEqual({ signed_in: false });
    expect((await inject('GET', '/v1/clients/search', { cookie })).status).toBe(401);
  });

  it("another reseller's links and link sessions are not affected", async () => {
    const { id } = await newClient(other);
    await suspend(acme);
    expect(await alive(await follow(await issueLink(other, id)))).toBe(true);
    await activate(acme);
  });
});
