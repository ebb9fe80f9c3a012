import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/app.js';
import { createReseller, createTestApp, seedDemoCatalog, type ResellerFixture, type TestApp } from '../support/test-app.js';

// The server's own logger configuration, at its most verbose, writing into memory.
let lines: string[] = [];
let t: TestApp;
let reseller: ResellerFixture;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  t = await createTestApp({}, { logger: createLogger({ logLevel: 'trace' }, sink) });
  await seedDemoCatalog(t);
  reseller = await createReseller(t);
});
afterAll(() => t.close());

it('logs every request as JSON with its request id, and never a key, token or password', async () => {
  lines = [];
  const created = await t.app.server.inject({
    method: 'POST',
    url: '/v1/clients',
    headers: { authorization: reseller.auth, 'x-request-id': 'req-log-test-1' },
    payload: { package_uid: 'spamstopshere-standard', user_count: 1, domains: [{ name: 'logged-domain.test' }] },
  });
  expect(created.statusCode).toBe(201);
  const link = (await t.app.server.inject({ method: 'GET', url: `/v1/clients/${created.json().id}/auth_token`, headers: { authorization: reseller.auth } })).json();
  expect((await t.app.server.inject({ method: 'GET', url: link.path })).statusCode).toBe(303);
  await t.app.server.inject({ method: 'GET', url: '/v1/clients', headers: { authorization: `Basic ${Buffer.from(`${reseller.api_token}:wrong-key-secret`).toString('base64')}` } });
  const issued = await createReseller(t);
  // ApisCP's doors carry secrets in the query string too: the SOAP key and the panel session id.
  await t.app.server.inject({ method: 'GET', url: `/apnscp.wsdl?authkey=${t.operatorKey}` });
  await t.app.server.inject({ method: 'GET', url: '/apps/dashboard?esprit_id=session-secret-in-url' });

  const parsed = lines.map((l) => JSON.parse(l) as { reqId?: string; msg?: string });
  expect(parsed.some((l) => l.reqId === 'req-log-test-1')).toBe(true);
  const text = lines.join('\n');
  // The login link was requested and logged, with its secret cut out.
  expect(text).toContain('/login/auth_token?token=[redacted]');
  expect(text).toContain('/apnscp.wsdl?authkey=[redacted]');
  expect(text).toContain('/apps/dashboard?esprit_id=[redacted]');
  for (const secret of ['session-secret-in-url', reseller.api_key, link.token, 'wrong-key-secret', issued.api_key, t.operatorKey, Buffer.from(`${reseller.api_token}:${reseller.api_key}`).toString('base64')]) {
    expect(text).not.toContain(secret);
  }
});
