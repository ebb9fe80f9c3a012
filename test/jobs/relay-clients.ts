import { expect } from 'vitest';
import type { ResellerFixture, TestApp } from '../support/test-app.js';

// What the relay fallback files share: clients whose domains go to the relay, made through the
// reseller's client API as a reseller would, under names no other run or file uses.

let n = 0;

/** A domain name of its own under `.test`, starting with `prefix`. */
export const uniqueDomain = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${n++}.test`;

/** A client of `reseller` with `domains` (mail servers where given); returns its id. */
export async function createRelayClient(t: TestApp, reseller: ResellerFixture, domains: { name: string; mail_servers?: string[] }[]): Promise<number> {
  const res = await t.app.server.inject({ method: 'POST', url: '/v1/clients', headers: { authorization: reseller.auth }, payload: { package_uid: 'spamstopshere-professional', user_count: 1, domains } });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: number }).id;
}
