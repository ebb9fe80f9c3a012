import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solveCaptcha, wrongAnswer } from '../support/captcha-solver.js';
import { hspFixture } from '../support/fixtures.js';
import { expectSameShape } from '../support/shape.js';
import { basic, createTestApp, seedDemoCatalog, type TestApp } from '../support/test-app.js';

let t: TestApp;
let admin: { authorization: string };

beforeAll(async () => {
  t = await createTestApp();
  await seedDemoCatalog(t);
  admin = { authorization: `Bearer ${t.operatorKey}` };
});
afterAll(() => t.close());

// Each test signs up from its own address, so the per-address failure limit never couples tests.
let lastOctet = 0;
const newAddress = () => `198.51.100.${++lastOctet}`;

interface Captcha {
  id: string;
  question: string;
}

async function newCaptcha(ip: string): Promise<Captcha> {
  const res = await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new', remoteAddress: ip });
  expect(res.statusCode).toBe(200);
  return res.json().captcha;
}

const signUp = (payload: unknown, ip: string) =>
  t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: ip, payload: payload as object, headers: { accept: 'application/json' } });

let n = 0;
function resellerBody(overrides: Record<string, unknown> = {}) {
  const seed = hspFixture<{ reseller: Record<string, unknown> }>('create-reseller-request').reseller;
  return { ...seed, username: `signup-${Date.now().toString(36)}-${n++}`, ...overrides };
}

async function allResellers(): Promise<{ id: number; username: string; status: string }[]> {
  const res = await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers', headers: admin });
  expect(res.statusCode).toBe(200);
  return res.json();
}

describe('GET /v1/resellers/new', () => {
  it('hands out a captcha and an empty form (seed fixture shape)', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new', remoteAddress: newAddress() });
    expect(res.statusCode).toBe(200);
    expectSameShape(res.json(), hspFixture('resellers-new'));
    expect(res.json().reseller).toEqual(hspFixture<{ reseller: unknown }>('resellers-new').reseller);
    expect(res.json().captcha.id).toMatch(/^[A-Za-z0-9_-]{16,100}$/);
    expect(() => solveCaptcha(res.json().captcha.question)).not.toThrow();
  });

  it('is public, and each call gives a new captcha', async () => {
    const ip = newAddress();
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await newCaptcha(ip)).id);
    expect(ids.size).toBe(3);
  });
});

describe('POST /v1/resellers: success', () => {
  it('a correct answer → 201 (seed shape); the reseller is pending without credentials until approved', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const reseller = resellerBody();
    const res = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller }, ip);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expectSameShape(body, hspFixture('create-reseller-response'));
    expect(body.reseller).toEqual({ id: expect.any(Number), ...reseller });
    expect(body.captcha).toEqual(captcha);
    expect(JSON.stringify(body)).not.toMatch(/api_(token|key)/);

    const listed = (await allResellers()).find((r) => r.id === body.reseller.id);
    expect(listed).toMatchObject({ username: reseller.username, status: 'pending', approved_at: null });
    const pending = await t.app.server.inject({ method: 'GET', url: '/admin/v1/resellers?status=pending', headers: admin });
    expect((pending.json() as { id: number }[]).map((r) => r.id)).toContain(body.reseller.id);
    // A pending reseller has no token; guessing one with the username gets nowhere.
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: basic(reseller.username, 'x') } })).statusCode).toBe(401);

    const approved = await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${body.reseller.id}/approve`, headers: admin });
    expect(approved.statusCode).toBe(200);
    const { api_token, api_key, status } = approved.json();
    expect(status).toBe('active');
    expect(api_token).toEqual(expect.any(String));
    expect(api_key).toEqual(expect.any(String));
    const clients = await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: basic(api_token, api_key) } });
    expect(clients.statusCode).toBe(200);
    expect(clients.json()).toEqual([]);
    // The application_name makes that application's packages sellable.
    const packages = await t.app.server.inject({ method: 'GET', url: '/v1/packages/by_tag/cpanel', headers: { authorization: basic(api_token, api_key) } });
    expect(packages.json()).toHaveLength(3);
    const created = await t.app.server.inject({
      method: 'POST',
      url: '/v1/clients',
      headers: { authorization: basic(api_token, api_key) },
      payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: `${reseller.username}.test` }] },
    });
    expect(created.statusCode).toBe(201);

    const twice = await t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${body.reseller.id}/approve`, headers: admin });
    expect(twice.statusCode).toBe(409);
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: basic(api_token, api_key) } })).statusCode).toBe(200);
  });

  it('answers are case- and space-insensitive ("  FRIDAY ")', async () => {
    const ip = newAddress();
    // Ask until the question has a word for an answer (a day or a month), so case matters.
    let captcha = await newCaptcha(ip);
    for (let i = 0; i < 60 && !/^[A-Za-z]+$/.test(solveCaptcha(captcha.question)); i++) captcha = await newCaptcha(ip);
    expect(solveCaptcha(captcha.question)).toMatch(/^[A-Z][a-z]+$/);
    const answer = `  ${solveCaptcha(captcha.question).toUpperCase()} `;
    const res = await signUp({ captcha: { id: captcha.id, answer }, reseller: resellerBody() }, ip);
    expect(res.statusCode).toBe(201);
  });

  it('only name, email_address and username are required', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const username = `minimal-${Date.now().toString(36)}`;
    const res = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: { name: 'Minimal', email_address: 'min@example.com', username } }, ip);
    expect(res.statusCode).toBe(201);
    // Optional fields left out come back as null, under the same keys as the seed example.
    expect(Object.keys(res.json().reseller).sort()).toEqual(Object.keys(hspFixture<{ reseller: object }>('create-reseller-response').reseller).sort());
    expect(res.json().reseller).toMatchObject({ name: 'Minimal', username, first_name: null, application_name: null });
  });

  it('a solved captcha cannot be used again', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const answer = solveCaptcha(captcha.question);
    expect((await signUp({ captcha: { id: captcha.id, answer }, reseller: resellerBody() }, ip)).statusCode).toBe(201);
    const before = (await allResellers()).length;
    const again = await signUp({ captcha: { id: captcha.id, answer }, reseller: resellerBody() }, ip);
    expect(again.statusCode).toBe(422);
    expect(again.json().errors.captcha).toEqual({ answer: ['is not correct'] });
    expect((await allResellers()).length).toBe(before);
  });
});

describe('POST /v1/resellers: races', () => {
  it('one captcha used by several requests at once: exactly one sign-up', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const answer = solveCaptcha(captcha.question);
    const before = (await allResellers()).length;
    const results = await Promise.all(Array.from({ length: 4 }, () => signUp({ captcha: { id: captcha.id, answer }, reseller: resellerBody() }, ip)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 422, 422, 422]);
    expect((await allResellers()).length).toBe(before + 1);
  });

  it('the same username from several sign-ups at once: exactly one wins, the others are told it is taken', async () => {
    const ip = newAddress();
    const username = `race-${Date.now().toString(36)}`;
    const captchas = await Promise.all(Array.from({ length: 4 }, () => newCaptcha(ip)));
    const results = await Promise.all(captchas.map((c, i) => signUp({ captcha: { id: c.id, answer: solveCaptcha(c.question) }, reseller: resellerBody({ username: i % 2 ? username : username.toUpperCase() }) }, ip)));
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 422, 422, 422]);
    for (const r of results.filter((x) => x.statusCode === 422)) expect(r.json().errors.reseller).toEqual({ username: ['has already been taken'] });
    expect((await allResellers()).filter((r) => r.username.toLowerCase() === username)).toHaveLength(1);
  });

  it('approving one sign-up twice at once: one approval, and the credentials it hands out work', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const created = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody() }, ip);
    const id = created.json().reseller.id;
    const results = await Promise.all(Array.from({ length: 3 }, () => t.app.server.inject({ method: 'POST', url: `/admin/v1/resellers/${id}/approve`, headers: admin })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409, 409]);
    const { api_token, api_key } = results.find((r) => r.statusCode === 200)!.json();
    expect((await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: basic(api_token, api_key) } })).statusCode).toBe(200);
  });
});

describe('POST /v1/resellers: failures create nothing', () => {
  it('a wrong answer → 422 with both error keys, a fresh captcha and the reseller echoed (seed shape)', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const reseller = resellerBody();
    const before = await allResellers();
    const res = await signUp({ captcha: { id: captcha.id, answer: wrongAnswer(captcha.question) }, reseller }, ip);
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expectSameShape(body, hspFixture('create-reseller-captcha-error'));
    expect(body.errors).toEqual({ reseller: {}, captcha: { answer: ['is not correct'] } });
    expect(body.reseller).toEqual(reseller);
    expect(body.captcha.id).not.toBe(captcha.id);
    expect(() => solveCaptcha(body.captcha.question)).not.toThrow();
    expect(await allResellers()).toEqual(before);

    // The old captcha is spent, even with the right answer now...
    const reused = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller }, ip);
    expect(reused.statusCode).toBe(422);
    expect(reused.json().errors.captcha).toEqual({ answer: ['is not correct'] });
    expect(await allResellers()).toEqual(before);

    // ...and the one handed back works.
    const next = reused.json().captcha as Captcha;
    const ok = await signUp({ captcha: { id: next.id, answer: solveCaptcha(next.question) }, reseller }, ip);
    expect(ok.statusCode).toBe(201);
  });

  it.each([
    ['no captcha at all', undefined],
    ['no captcha id', { answer: 'friday' }],
    ['an unknown captcha id', { id: 'abc123', answer: 'friday' }],
    ['an empty captcha id', { id: '', answer: 'friday' }],
    ['a captcha id that is not a string', { id: 42, answer: 'friday' }],
    ['a huge captcha id', { id: 'x'.repeat(5000), answer: 'friday' }],
    ['a null captcha', null],
  ])('%s → treated as a wrong answer, with a fresh captcha', async (_label, captcha) => {
    const ip = newAddress();
    const before = (await allResellers()).length;
    const reseller = resellerBody();
    const res = await signUp({ ...(captcha !== undefined ? { captcha } : {}), reseller }, ip);
    expect(res.statusCode).toBe(422);
    expectSameShape(res.json(), hspFixture('create-reseller-captcha-error'));
    expect(res.json().errors).toEqual({ reseller: {}, captcha: { answer: ['is not correct'] } });
    expect(res.json().reseller).toEqual(reseller);
    expect(res.json().captcha.id).toEqual(expect.any(String));
    expect((await allResellers()).length).toBe(before);
  });

  it('an empty username with a right answer → reseller.username "must be specified" (seed shape), captcha errors empty', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const before = (await allResellers()).length;
    const reseller = resellerBody({ username: '' });
    const res = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller }, ip);
    expect(res.statusCode).toBe(422);
    expectSameShape(res.json(), hspFixture('create-reseller-validation-error'));
    expect(res.json().errors).toEqual({ reseller: { username: ['must be specified'] }, captcha: {} });
    expect(res.json().reseller).toEqual(reseller);
    expect(res.json().captcha.id).not.toBe(captcha.id);
    expect((await allResellers()).length).toBe(before);
  });

  it('missing required fields are each "must be specified"', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const res = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: { first_name: 'Phil' } }, ip);
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({ reseller: { name: ['must be specified'], email_address: ['must be specified'], username: ['must be specified'] }, captcha: {} });
    expect(res.json().reseller).toEqual({ first_name: 'Phil' });
  });

  it('both kinds of error at once', async () => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const res = await signUp({ captcha: { id: captcha.id, answer: wrongAnswer(captcha.question) }, reseller: resellerBody({ username: undefined }) }, ip);
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual({ reseller: { username: ['must be specified'] }, captcha: { answer: ['is not correct'] } });
  });

  it.each([
    ['a bad email address', { email_address: 'not-an-email' }, 'email_address', 'is not a valid email address'],
    ['a bad username', { username: 'no spaces allowed' }, 'username', expect.stringMatching(/^must be 3-64/)],
    ['an unknown attribute', { is_admin: true }, 'is_admin', 'is not a known attribute'],
    ['a status is not for the applicant to set', { status: 'active' }, 'status', 'is not a known attribute'],
    ['a name too long', { name: 'x'.repeat(201) }, 'name', 'is too long (maximum is 200 characters)'],
    ['a number for a name', { name: 7 }, 'name', 'must be a string'],
  ])('%s → 422 reseller error', async (_label, overrides, field, message) => {
    const ip = newAddress();
    const captcha = await newCaptcha(ip);
    const before = (await allResellers()).length;
    const res = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody(overrides) }, ip);
    expect(res.statusCode).toBe(422);
    expect(res.json().errors.captcha).toEqual({});
    expect(res.json().errors.reseller[field]).toEqual([message]);
    expect(res.json().reseller).not.toHaveProperty('is_admin');
    expect(res.json().reseller).not.toHaveProperty('status');
    expect((await allResellers()).length).toBe(before);
  });

  it('a taken username (in any case) → "has already been taken"', async () => {
    const ip = newAddress();
    const username = `taken-${Date.now().toString(36)}`;
    let captcha = await newCaptcha(ip);
    expect((await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody({ username }) }, ip)).statusCode).toBe(201);
    const before = (await allResellers()).length;
    for (const spelling of [username, username.toUpperCase()]) {
      captcha = await newCaptcha(ip);
      const res = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody({ username: spelling }) }, ip);
      expect(res.statusCode).toBe(422);
      expect(res.json().errors).toEqual({ reseller: { username: ['has already been taken'] }, captcha: {} });
      expect(res.json().captcha.id).not.toBe(captcha.id);
    }
    expect((await allResellers()).length).toBe(before);
  });

  it('a username an operator already gave out is taken too', async () => {
    const ip = newAddress();
    const username = `op-made-${Date.now().toString(36)}`;
    const made = await t.app.server.inject({ method: 'POST', url: '/admin/v1/resellers', headers: admin, payload: { name: 'Op', email_address: 'op@example.com', username } });
    expect(made.statusCode).toBe(201);
    const captcha = await newCaptcha(ip);
    const res = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody({ username }) }, ip);
    expect(res.json().errors.reseller).toEqual({ username: ['has already been taken'] });
  });

  it.each([
    ['an array body', []],
    ['a JSON string body', JSON.stringify('hello')],
    ['a JSON null body', 'null'],
    ['a JSON number body', '42'],
    ['reseller is an array', { captcha: { id: 'x', answer: 'y' }, reseller: [] }],
    ['reseller is a string', { captcha: { id: 'x', answer: 'y' }, reseller: 'me' }],
    ['captcha is an array', { captcha: [], reseller: {} }],
    ['nested nulls', { captcha: { id: null, answer: null }, reseller: { name: null, username: null, email_address: null } }],
  ])('%s → 422 with both error keys', async (_label, body) => {
    const ip = newAddress();
    const before = (await allResellers()).length;
    const res =
      typeof body === 'string'
        ? await t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload: body })
        : await signUp(body, ip);
    expect(res.statusCode).toBe(422);
    expect(Object.keys(res.json().errors).sort()).toEqual(['captcha', 'reseller']);
    expect(res.json().errors.captcha).toEqual({ answer: ['is not correct'] });
    expect(res.json().captcha).toEqual({ id: expect.any(String), question: expect.any(String) });
    expect((await allResellers()).length).toBe(before);
  });
});

describe('POST /v1/resellers: bytes that are not JSON', () => {
  it('an unparsed content type → 415, plain text → 422, invalid JSON → 400; nothing created', async () => {
    const before = (await allResellers()).length;
    const form = await t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: newAddress(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' });
    expect(form.statusCode).toBe(415);
    expect(form.json()).toEqual({ errors: { base: [expect.stringMatching(/JSON/)] } });
    // Fastify reads text/plain as a string; a string is not a sign-up.
    const text = await t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: newAddress(), headers: { 'content-type': 'text/plain' }, payload: 'captcha=friday' });
    expect(text.statusCode).toBe(422);
    expect(text.json().errors).toEqual({ reseller: { name: ['must be specified'], email_address: ['must be specified'], username: ['must be specified'] }, captcha: { answer: ['is not correct'] } });
    const broken = await t.app.server.inject({ method: 'POST', url: '/v1/resellers', remoteAddress: newAddress(), headers: { 'content-type': 'application/json' }, payload: '{"captcha": {' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toEqual({ errors: { base: ['request body is not valid JSON'] } });
    expect((await allResellers()).length).toBe(before);
  });
});

describe('POST /v1/resellers: too many wrong answers', () => {
  it('after 5 wrong answers from one address → 429 with Retry-After, even for a right answer; other addresses unaffected', async () => {
    const ip = newAddress();
    const before = (await allResellers()).length;
    for (let i = 0; i < 5; i++) {
      const captcha = await newCaptcha(ip);
      const res = await signUp({ captcha: { id: captcha.id, answer: wrongAnswer(captcha.question) }, reseller: resellerBody() }, ip);
      expect(res.statusCode, `attempt ${i + 1}`).toBe(422);
    }
    const captcha = await newCaptcha(ip);
    const blocked = await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody() }, ip);
    expect(blocked.statusCode).toBe(429);
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(Object.keys(blocked.json().errors).sort()).toEqual(['captcha', 'reseller']);
    expect(blocked.json().reseller).toHaveProperty('username');
    expect((await allResellers()).length).toBe(before);

    // The blocked request did not use up the captcha; from elsewhere, sign-up still works.
    const other = newAddress();
    const fresh = await newCaptcha(other);
    expect((await signUp({ captcha: { id: fresh.id, answer: solveCaptcha(fresh.question) }, reseller: resellerBody() }, other)).statusCode).toBe(201);
  });

  it('right answers do not count towards the limit', async () => {
    const ip = newAddress();
    for (let i = 0; i < 6; i++) {
      const captcha = await newCaptcha(ip);
      expect((await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody() }, ip)).statusCode).toBe(201);
    }
  });

  it('the block lifts when the window has passed', async () => {
    const ip = newAddress();
    const start = Date.now();
    t.setNow(new Date(start));
    for (let i = 0; i < 5; i++) {
      const captcha = await newCaptcha(ip);
      await signUp({ captcha: { id: captcha.id, answer: wrongAnswer(captcha.question) }, reseller: resellerBody() }, ip);
    }
    expect((await signUp({ reseller: resellerBody() }, ip)).statusCode).toBe(429);
    t.setNow(new Date(start + 15 * 60 * 1000 + 1000));
    const captcha = await newCaptcha(ip);
    expect((await signUp({ captcha: { id: captcha.id, answer: solveCaptcha(captcha.question) }, reseller: resellerBody() }, ip)).statusCode).toBe(201);
  });
});

describe('GET /v1/resellers/new: bounded per address', () => {
  it('after 60 forms from one address within 15 minutes → 429 with Retry-After; other addresses unaffected', async () => {
    const ip = newAddress();
    for (let i = 0; i < 60; i++) await newCaptcha(ip);
    const blocked = await t.app.server.inject({ method: 'GET', url: '/v1/resellers/new', remoteAddress: ip });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(blocked.json().errors.base[0]).toMatch(/too many/);
    await newCaptcha(newAddress());
  });
});
