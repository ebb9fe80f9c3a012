import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientWorld, type ClientWorld } from './client-harness.js';

// The family-code activation page in chromium: someone opens a shared link, registers or signs in on
// the CRM API and the code is activated; every refusal of the activate API reads in plain words.

let w: ClientWorld;
let codes: string[];
let ownerToken: string;
const OWNER = 'owner@contoso.example';

const linkOf = (code: string) => `${w.s.url}/console/activate?code=${encodeURIComponent(code)}`;

/** A fresh browser (no session of anyone) on the activation link. */
async function open(code: string, viewport?: { width: number; height: number }): Promise<Page> {
  const { page } = await w.newPage(viewport);
  await page.goto(linkOf(code));
  await page.getByRole('heading', { name: 'Activate a family code', level: 1 }).waitFor();
  return page;
}

async function register(page: Page, email: string, password = 'a new member password') {
  await page.getByLabel('create an account', { exact: true }).check();
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Create account and activate' }).click();
}

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('sign in', { exact: true }).check();
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in and activate' }).click();
}

beforeAll(async () => {
  w = await startClientWorld();
  const clientId = await w.newClient('Contoso', ['contoso.example']);
  ({ codes, token: ownerToken } = await w.ownerWithCodes(clientId, OWNER, 'contoso owner password'));
  expect(codes).toHaveLength(4);
}, 240_000);

afterAll(async () => {
  await w?.close();
});

describe.sequential('activation page in chromium', () => {
  it('a new user opens the shared link, registers, and gets the subscription', async () => {
    const page = await open(codes[0]!);
    expect(await page.getByLabel('Code', { exact: true }).inputValue()).toBe(codes[0]);
    await w.shot(page, 'activate-01-form');
    await register(page, 'new.member@example.com');
    await page.getByRole('heading', { name: 'Code activated', level: 1 }).waitFor();
    expect(await page.getByTestId('activated-subscription').innerText()).toBe('company_member');
    expect(await page.getByTestId('activated-access').innerText()).toBe('web, mobile');
    await page.getByText('Signed in as new.member@example.com').waitFor();
    // The CRM token stayed in the page's memory: nothing in storage or cookies.
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie])).toEqual([0, 0, '']);
    await w.shot(page, 'activate-02-success');
    // And the API agrees: the code is accepted for that user.
    const list = await w.json('GET', '/api/v1/family/list', undefined, { authorization: `Bearer ${ownerToken}` });
    expect(list.body.codes.find((c: { code: string }) => c.code === codes[0])).toMatchObject({ status: 'accepted' });
  });

  it('an unknown code says so in words', async () => {
    const page = await open('0000000000notarealcode0000000000');
    w.expect(/status of 404/);
    await register(page, 'curious@example.com');
    await page.getByRole('alert').filter({ hasText: 'This code does not exist.' }).waitFor();
    w.expect(undefined);
    await w.shot(page, 'activate-03-unknown-code');
    // Still signed in (in memory): fixing the code and trying again works.
    await page.getByLabel('Code', { exact: true }).fill(codes[2]!);
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByRole('heading', { name: 'Code activated', level: 1 }).waitFor();
  });

  it('a used code says it was already used', async () => {
    const page = await open(codes[0]!);
    w.expect(/status of 409/);
    await register(page, 'late@example.com');
    await page.getByRole('alert').filter({ hasText: 'This code has already been used.' }).waitFor();
    w.expect(undefined);
    await w.shot(page, 'activate-04-used-code');
  });

  it('a cancelled code says the sharer cancelled it', async () => {
    const cancelled = await w.json('POST', '/api/v1/family/deactivate', { code: codes[3] }, { authorization: `Bearer ${ownerToken}` });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    const page = await open(codes[3]!);
    w.expect(/status of 409/);
    await register(page, 'too-late@example.com');
    await page.getByRole('alert').filter({ hasText: 'This code was cancelled by the person who shared it.' }).waitFor();
    w.expect(undefined);
    await w.shot(page, 'activate-05-cancelled-code');
  });

  it('one code per user from a subscription', async () => {
    // new.member@ already holds one of this subscription's codes.
    const page = await open(codes[1]!);
    w.expect(/status of 400/);
    await signIn(page, 'new.member@example.com', 'a new member password');
    await page.getByRole('alert').filter({ hasText: 'You already have a membership from this subscription' }).waitFor();
    w.expect(undefined);
    await w.shot(page, 'activate-06-one-per-user');
  });

  it('wrong password and an email already registered read in words', async () => {
    const page = await open(codes[1]!);
    w.expect(/status of 400/);
    await signIn(page, 'new.member@example.com', 'not the password');
    await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor();
    await register(page, 'new.member@example.com');
    await page.getByRole('alert').filter({ hasText: 'An account with this email already exists.' }).waitFor();
    w.expect(undefined);
  });

  it('an expired parent subscription makes its codes expired', async () => {
    const page = await open(codes[1]!);
    w.s.t.setNow(new Date(Date.now() + 400 * 86_400_000));
    try {
      w.expect(/status of 400/);
      await register(page, 'next-year@example.com');
      await page.getByRole('alert').filter({ hasText: 'This code has expired' }).waitFor();
      w.expect(undefined);
    } finally {
      w.s.t.setNow(new Date());
    }
    await w.shot(page, 'activate-07-expired');
  });

  it('a code of a family type the operator retired says it no longer works', async () => {
    const operator = { authorization: `Bearer ${w.s.t.operatorKey}` };
    const types = (await w.json('GET', '/admin/v1/family-types', undefined, operator)).body as { id: number; parent: string }[];
    const retired = await w.json('POST', `/admin/v1/family-types/${types.find((t) => t.parent === 'company_year')!.id}/disable`, undefined, operator);
    expect(retired.status, JSON.stringify(retired.body)).toBe(200);
    const page = await open(codes[1]!);
    w.expect(/status of 400/);
    await register(page, 'withdrawn@example.com');
    await page.getByRole('alert').filter({ hasText: 'This code no longer works: the offer it came from has been withdrawn.' }).waitFor();
    w.expect(undefined);
    await w.shot(page, 'activate-09-retired-type');
  });

  it('reads on a phone', async () => {
    const page = await open(codes[1]!, { width: 375, height: 740 });
    await w.shot(page, 'activate-08-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
  });

  it('no console errors beyond the refusals each step provoked', () => {
    expect(w.problems).toEqual([]);
  });
});
