import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReseller, createTestApp, seedDemoCatalog, type TestApp } from '../support/test-app.js';

// Failed-login limits under concurrency, on every password sign-in of the HTTP doors: a burst of
// parallel guesses gets at most the limit of passwords checked (10 per account, 50 per address, per
// 15 minutes), the right password is refused once the limit is reached, and accepted again when
// the window has passed. Each door answers over the limit in its own format, with Retry-After.

const ACCOUNT_LIMIT = 10;
const ADDRESS_LIMIT = 50;
const BURST = 60;

let t: TestApp;
const operator = () => ({ authorization: `Bearer ${t.operatorKey}` });
let seq = 0;
const next = () => `${++seq}-${Math.random().toString(36).slice(2, 7)}`;

async function call(method: 'POST' | 'PUT', url: string, payload: unknown, headers: Record<string, string> = operator()) {
  const res = await t.app.server.inject({ method, url, headers, payload: payload as object });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A client of a fresh reseller, with its site's `admin` user given a password. */
async function clientWithAdmin(password: string): Promise<number> {
  const reseller = await createReseller(t);
  const domain = `burst-${next()}.example`;
  const client = await call('POST', '/v1/clients', { package_uid: 'spamstopshere-standard', user_count: 1, name: `Burst ${domain}`, domains: [{ name: domain }] }, { authorization: reseller.auth });
  await call('POST', '/api/v1/cpcmd/auth:change-password', { args: [password, 'admin', domain] }, { ...operator(), 'content-type': 'application/json' });
  return client.id as number;
}

async function endUser(password: string): Promise<string> {
  const email = `burst-${next()}@example.com`;
  await call('POST', '/api/v1/users/register', { email, password }, { 'content-type': 'application/json' });
  return email;
}

interface Account {
  /** What the door's sign-in names: a login, an email, an API token, `clientId/login`. */
  name: string;
  secret: string;
}

interface Door {
  name: string;
  /** A fresh account with its right secret. */
  account(): Promise<Account>;
  /** Another name on the same door, for spraying one address over many accounts. */
  other(a: Account, i: number): string;
  signIn(name: string, secret: string, ip: string): Promise<LightMyRequestResponse>;
  accepted: number;
  wrong: number;
  /** The door's own answer over the limit (besides 429 and Retry-After). */
  limitedBody(body: string): void;
}

const post = (url: string, payload: Record<string, unknown>, ip: string) => t.app.server.inject({ method: 'POST', url, payload, remoteAddress: ip });
const splitClient = (name: string) => ({ clientId: Number(name.split('/')[0]), login: name.slice(name.indexOf('/') + 1) });
const restBody = (message: RegExp) => (body: string) => expect(JSON.parse(body)).toEqual({ errors: { base: [expect.stringMatching(message)] } });

const doors: Door[] = [
  {
    name: 'reseller console, login and password (POST /v1/session)',
    account: async () => {
      const r = await createReseller(t);
      const a = { name: `reseller-${next()}`, secret: 'reseller console password' };
      await call('PUT', `/admin/v1/resellers/${r.id}/login`, { login: a.name, password: a.secret });
      return a;
    },
    other: (_a, i) => `sprayed-reseller-${i}`,
    signIn: (login, password, ip) => post('/v1/session', { login, password }, ip),
    accepted: 200,
    wrong: 401,
    limitedBody: restBody(/too many failed sign-ins; try again in \d+ s/),
  },
  {
    name: 'reseller console, API token and key (POST /v1/session)',
    account: async () => {
      const r = await createReseller(t);
      return { name: r.api_token, secret: r.api_key };
    },
    other: (_a, i) => `sprayed-token-${i}`,
    signIn: (token, key, ip) => post('/v1/session', { token, key }, ip),
    accepted: 200,
    wrong: 401,
    limitedBody: restBody(/too many failed sign-ins/),
  },
  {
    name: 'operator users (POST /admin/v1/session)',
    account: async () => {
      const a = { name: `operator-${next()}`, secret: 'operator password' };
      await call('POST', '/admin/v1/users', { login: a.name, password: a.secret, operator: true });
      return a;
    },
    other: (_a, i) => `sprayed-operator-${i}`,
    signIn: (login, password, ip) => post('/admin/v1/session', { login, password }, ip),
    accepted: 200,
    wrong: 401,
    limitedBody: (body) => expect(body).toMatch(/too many failed sign-ins; try again in \d+ s/),
  },
  {
    name: "client area, a client's own user (POST /client/v1/session)",
    account: async () => ({ name: `${await clientWithAdmin('site admin password')}/admin`, secret: 'site admin password' }),
    other: (a, i) => `${splitClient(a.name).clientId}/sprayed-${i}`,
    signIn: (name, password, ip) => post('/client/v1/session', { client_id: splitClient(name).clientId, login: splitClient(name).login, password }, ip),
    accepted: 200,
    wrong: 401,
    limitedBody: (body) => expect(body).toMatch(/too many failed logins; try again in \d+ s/),
  },
  {
    name: 'client area, a client owner by email (POST /client/v1/session)',
    account: async () => {
      const password = 'owner password';
      const email = await endUser(password);
      const clientId = await clientWithAdmin('unused site password');
      await call('PUT', `/admin/v1/clients/${clientId}/owner`, { email });
      return { name: email, secret: password };
    },
    other: (_a, i) => `sprayed-owner-${i}@example.com`,
    signIn: (email, password, ip) => post('/client/v1/session', { email, password }, ip),
    accepted: 200,
    wrong: 401,
    limitedBody: (body) => expect(body).toMatch(/too many failed logins; try again in \d+ s/),
  },
  {
    name: 'CRM end users (POST /api/v1/users/login)',
    account: async () => ({ name: await endUser('crm password'), secret: 'crm password' }),
    other: (_a, i) => `sprayed-crm-${i}@example.com`,
    signIn: (email, password, ip) => post('/api/v1/users/login', { email, password }, ip),
    accepted: 200,
    wrong: 400,
    limitedBody: (body) => expect(JSON.parse(body)).toMatchObject({ status: 'error', error: 'rate_limited' }),
  },
  {
    name: 'server-rendered client page (POST /console/clients/:id/login)',
    account: async () => ({ name: `${await clientWithAdmin('page password')}/admin`, secret: 'page password' }),
    other: (a, i) => `${splitClient(a.name).clientId}/sprayed-${i}`,
    signIn: (name, password, ip) => {
      const { clientId, login } = splitClient(name);
      return t.app.server.inject({ method: 'POST', url: `/console/clients/${clientId}/login`, remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ login, password }).toString() });
    },
    accepted: 303,
    wrong: 401,
    limitedBody: (body) => expect(body).toMatch(/<p role="alert">too many failed logins; try again in \d+ s<\/p>/),
  },
];

function tally(answers: LightMyRequestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.statusCode] = (counts[a.statusCode] ?? 0) + 1;
  return counts;
}

function expectLimited(door: Door, res: LightMyRequestResponse): void {
  expect(res.statusCode, res.body).toBe(429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
  door.limitedBody(res.body);
}

let ipSeq = 0;
/** A documentation-range address no other test of this file uses, so address buckets never mix. */
const freshIp = () => `198.18.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
});
afterAll(() => t.close());

// Hundreds of memory-hard hashes on a shared machine: generous bounds, no timing asserted.
describe.each(doors)('$name', { timeout: 180_000 }, (door) => {
  it(`a burst of ${BURST} wrong passwords and the right one checks at most ${ACCOUNT_LIMIT}; then even the right one waits until the window ends`, async () => {
    const a = await door.account();
    const ip = freshIp();
    // Sanity: the door accepts the right secret, and that does not count as a failure.
    expect((await door.signIn(a.name, a.secret, ip)).statusCode).toBe(door.accepted);

    const burst = await Promise.all([...Array.from({ length: BURST }, (_, i) => door.signIn(a.name, `wrong guess ${i}`, ip)), door.signIn(a.name, a.secret, ip)]);
    const counts = tally(burst);
    expect(counts[429]).toBeGreaterThanOrEqual(BURST - ACCOUNT_LIMIT);
    for (const status of Object.keys(counts).map(Number)) expect([door.wrong, door.accepted, 429]).toContain(status);
    const wrongChecked = counts[door.wrong] ?? 0;
    const rightAccepted = counts[door.accepted] ?? 0;
    // The right one may have won a place in the burst (its try is then given back): at most one more check.
    expect(wrongChecked).toBeLessThanOrEqual(ACCOUNT_LIMIT);
    expect(wrongChecked + rightAccepted).toBeLessThanOrEqual(ACCOUNT_LIMIT + 1);
    for (const r of burst.filter((r) => r.statusCode === 429)) expectLimited(door, r);

    // One more wrong guess fills a place the right one may have given back; from now on nothing is checked.
    const last = await door.signIn(a.name, 'one more guess', ip);
    expect(wrongChecked + (last.statusCode === door.wrong ? 1 : 0)).toBe(ACCOUNT_LIMIT);
    if (last.statusCode !== door.wrong) expectLimited(door, last);
    expectLimited(door, await door.signIn(a.name, a.secret, ip));
    // The limit is the account's, from any address.
    expectLimited(door, await door.signIn(a.name, a.secret, freshIp()));

    t.setNow(new Date(Date.now() + 16 * 60 * 1000));
    try {
      expect((await door.signIn(a.name, a.secret, ip)).statusCode).toBe(door.accepted);
    } finally {
      t.setNow(new Date());
    }
  });

  it(`a burst from one address over ${BURST} accounts checks at most ${ADDRESS_LIMIT}; other addresses are not affected`, async () => {
    const victim = await door.account();
    const ip = freshIp();
    const burst = await Promise.all(Array.from({ length: BURST }, (_, i) => door.signIn(door.other(victim, i), `spray ${i}`, ip)));
    const counts = tally(burst);
    // Nothing is given back in a burst of wrong guesses, so exactly the limit is checked.
    expect(counts).toEqual({ [door.wrong]: ADDRESS_LIMIT, 429: BURST - ADDRESS_LIMIT });
    for (const r of burst.filter((r) => r.statusCode === 429)) expectLimited(door, r);

    expectLimited(door, await door.signIn(victim.name, victim.secret, ip));
    expect((await door.signIn(victim.name, victim.secret, freshIp())).statusCode).toBe(door.accepted);
  });
});

describe('one account, one budget across doors', { timeout: 180_000 }, () => {
  it('wrong passwords at the CRM door lock the same end user out of the client area', async () => {
    const password = 'shared owner password';
    const email = await endUser(password);
    const clientId = await clientWithAdmin('unused site password');
    await call('PUT', `/admin/v1/clients/${clientId}/owner`, { email });
    const crm = doors.find((d) => d.name.startsWith('CRM'))!;
    const area = doors.find((d) => d.name.includes('client owner'))!;
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => crm.signIn(email, `guess ${i}`, freshIp())));
    expect(tally(burst)).toEqual({ 400: ACCOUNT_LIMIT, 429: 20 - ACCOUNT_LIMIT });
    expectLimited(area, await area.signIn(email, password, freshIp()));
  });

  it('a right password does not count as a failure: 15 good sign-ins, 5 at a time, still leave the account open', async () => {
    const door = doors.find((d) => d.name.startsWith('operator'))!;
    const a = await door.account();
    const ip = freshIp();
    for (let i = 0; i < 3; i++) {
      const round = await Promise.all(Array.from({ length: 5 }, () => door.signIn(a.name, a.secret, ip)));
      expect(round.map((r) => r.statusCode)).toEqual(Array(5).fill(door.accepted));
    }
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) expect((await door.signIn(a.name, `wrong ${i}`, ip)).statusCode).toBe(door.wrong);
    expect((await door.signIn(a.name, a.secret, ip)).statusCode).toBe(door.accepted);
  });
});
