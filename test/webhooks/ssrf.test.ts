import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postOnce } from '../../src/core/webhooks/webhook-delivery.js';
import { WEBHOOK_RESPONSE_CAP_BYTES } from '../../src/core/webhooks/webhook.schema.js';
import { isPrivateAddress, parseWebhookUrl, resolvePublicAddresses } from '../../src/core/webhooks/webhook-target.js';
import { createReseller, createTestApp, type ResellerFixture, type TestApp } from '../support/test-app.js';

describe('webhook targets without HOSTPLANE_WEBHOOK_ALLOW_PRIVATE', () => {
  let t: TestApp;
  let reseller: ResellerFixture;
  beforeAll(async () => {
    t = await createTestApp();
    reseller = await createReseller(t);
  });
  afterAll(async () => {
    await t.close();
  });

  const refused = [
    'http://127.0.0.1/hook',
    'http://127.1.2.3:8080/hook',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://[::1]/',
    'http://[::]/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a00:1]/',
    'http://2130706433/', // 127.0.0.1 written as one number
    'http://localhost/',
  ];
  it.each(refused)('refuses %s', async (url) => {
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: reseller.auth }, payload: { url, event_types: ['client.created'] } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().errors.url[0]).toMatch(/must not point at a loopback, private or link-local address/);
  });

  it.each(['ftp://x.example/', 'file:///etc/passwd', 'gopher://x.example/', 'not a url', 'http://user:pw@x.example/'])('refuses %s as a URL', async (url) => {
    const res = await t.app.server.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: reseller.auth }, payload: { url, event_types: ['client.created'] } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().errors.url[0]).toMatch(/http or https URL|credentials/);
  });

  it('the operator door refuses the same', async () => {
    const res = await t.app.server.inject({ method: 'POST', url: '/admin/v1/webhooks', headers: { authorization: `Bearer ${t.operatorKey}` }, payload: { url: 'http://10.1.2.3/', event_types: ['reseller.approved'] } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.fields.url[0]).toMatch(/private/);
  });
});

describe('address classification', () => {
  it('private, loopback, link-local and mapped addresses are private; public ones are not', () => {
    for (const a of ['127.0.0.1', '10.255.0.1', '172.31.255.255', '192.168.0.1', '169.254.1.1', '100.127.0.1', '0.1.2.3', '255.255.255.255', '::1', '::', 'fe80::1%eth0', 'fc00::1', 'ff02::1', '::ffff:192.168.1.1', '::ffff:c0a8:101', '64:ff9b::a00:1']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(a), a).toBe(false);
    }
  });

  it('the delivery-time check refuses private addresses unless allowed', async () => {
    await expect(resolvePublicAddresses('127.0.0.1', false)).rejects.toThrow(/loopback, private/);
    await expect(resolvePublicAddresses('localhost', false)).rejects.toThrow(/loopback, private/);
    await expect(resolvePublicAddresses('127.0.0.1', true)).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(() => parseWebhookUrl('ftp://x')).toThrow(/http or https/);
  });
});

describe('outbound requests', () => {
  let server: http.Server;
  let base: URL;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      if (req.url === '/big') {
        res.writeHead(200);
        res.end(Buffer.alloc(1024 * 1024, 'a'));
        return;
      }
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/ok' }).end();
        return;
      }
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const addresses = [{ address: '127.0.0.1', family: 4 as const }];

  it('gives up after the timeout', async () => {
    await expect(postOnce(new URL('/slow', base), addresses, {}, '{}', 200)).rejects.toThrow(/timed out after 200 ms/);
  });

  it('reads at most the response cap', async () => {
    const res = await postOnce(new URL('/big', base), addresses, {}, '{}', 5000);
    expect(res.statusCode).toBe(200);
    expect(res.body.length).toBe(WEBHOOK_RESPONSE_CAP_BYTES);
  });

  it('does not follow redirects', async () => {
    const res = await postOnce(new URL('/redirect', base), addresses, {}, '{}', 5000);
    expect(res.statusCode).toBe(302);
  });

  it('connects only to the checked addresses, whatever the name resolves to', async () => {
    const named = new URL(`http://webhook-target.invalid:${base.port}/ok`);
    const res = await postOnce(named, addresses, {}, '{}', 5000);
    expect(res).toEqual({ statusCode: 200, body: 'ok' });
  });
});
