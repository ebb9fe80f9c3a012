import { describe, expect, it } from 'vitest';
import type { FieldErrors } from '../../src/errors/app-error.js';
import { allowsMultipleMailServers, checkDomainSet, checkMailServers, MULTIPLE_MAIL_SERVERS_MESSAGE, mxRecordsFor } from '../../src/core/domains/domain.rules.js';
import { MULTIPLE_MAIL_SERVERS, type Feature } from '../../src/core/packages/package.schema.js';
import { hspFixture } from '../support/fixtures.js';

const feature = (id: number, code: string | null): Feature => ({ id, code, name: `F${id}`, blurb: '', description: '', position: id });
const standard = { features: [feature(1, 'anti_spam')], limits: { max_mail_servers: 1 } };
const professional = { features: [feature(1, 'anti_spam'), feature(4, MULTIPLE_MAIL_SERVERS)], limits: { max_mail_servers: 3 } };

describe('mxRecordsFor', () => {
  it('reproduces the seed example from the relay hosts', () => {
    const example = hspFixture<{ domains: { mx_records: unknown }[] }>('get-client').domains[0]!.mx_records;
    expect(mxRecordsFor({ relayHosts: ['relay1g.spamh.com', 'relay1h.spamh.com'], relayPriorityStep: 10 }, 'customer-domain.test')).toEqual(example);
  });

  it('one record per relay, rising by the configured step, every dot of the domain a hyphen', () => {
    expect(mxRecordsFor({ relayHosts: ['a.relay.test', 'b.relay.test', 'c.relay.test'], relayPriorityStep: 5 }, 'mail.sub.example.org')).toEqual([
      { priority: 5, hostname: 'mail-sub-example-org.a.relay.test.' },
      { priority: 10, hostname: 'mail-sub-example-org.b.relay.test.' },
      { priority: 15, hostname: 'mail-sub-example-org.c.relay.test.' },
    ]);
  });

  it('keeps hyphens and IDNA labels as they are', () => {
    expect(mxRecordsFor({ relayHosts: ['r.test'], relayPriorityStep: 10 }, 'xn--bcher-kva.my-shop.example')).toEqual([{ priority: 10, hostname: 'xn--bcher-kva-my-shop-example.r.test.' }]);
  });
});

describe('checkMailServers', () => {
  it('normalises and de-duplicates', () => {
    const fields: FieldErrors = {};
    expect(checkMailServers(['Mail.Example.com.', 'mail.example.com', '[192.0.2.1]'], professional, fields)).toEqual(['mail.example.com', '192.0.2.1']);
    expect(fields).toEqual({});
  });

  it('one server is fine on any package, and so is none', () => {
    const fields: FieldErrors = {};
    expect(checkMailServers(['mail.example.com'], standard, fields)).toEqual(['mail.example.com']);
    expect(checkMailServers([], standard, fields)).toEqual([]);
    expect(checkMailServers(['mail.example.com', 'backup.example.com'], undefined, fields)).toHaveLength(2);
    expect(fields).toEqual({ mail_servers: [MULTIPLE_MAIL_SERVERS_MESSAGE] });
  });

  it('several servers need the multiple_mail_servers feature: the seed message otherwise', () => {
    const fields: FieldErrors = {};
    checkMailServers(['a.example.com', 'b.example.com'], standard, fields);
    expect(fields).toEqual((hspFixture('update-domain-error') as { errors: FieldErrors }).errors);
  });

  it('with the feature, the package limit still applies', () => {
    const ok: FieldErrors = {};
    checkMailServers(['a.example.com', 'b.example.com', 'c.example.com'], professional, ok);
    expect(ok).toEqual({});
    const tooMany: FieldErrors = {};
    checkMailServers(['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com'], professional, tooMany);
    expect(tooMany).toEqual({ mail_servers: ['has too many entries for this package (maximum is 3)'] });
  });

  it('reports each invalid entry under the given key', () => {
    const fields: FieldErrors = {};
    expect(checkMailServers(['not a host', 'ok.example.com', ''], professional, fields, 'domains.mail_servers')).toEqual(['ok.example.com']);
    expect(fields).toEqual({ 'domains.mail_servers': ['"not a host" is not a valid host name or IP address', '"" is not a valid host name or IP address'] });
  });

  it('allowsMultipleMailServers looks at the feature code', () => {
    expect(allowsMultipleMailServers(standard)).toBe(false);
    expect(allowsMultipleMailServers(professional)).toBe(true);
    expect(allowsMultipleMailServers(undefined)).toBe(false);
  });
});

describe('checkDomainSet', () => {
  it('normalises names, keeps order, leaves absent mail servers undefined', () => {
    const fields: FieldErrors = {};
    expect(checkDomainSet([{ name: 'B.example' }, { name: 'a.example.', mail_servers: ['mx.a.example'] }, { name: 'c.example', mail_servers: null }], standard, fields)).toEqual([
      { name: 'b.example', mail_servers: undefined },
      { name: 'a.example', mail_servers: ['mx.a.example'] },
      { name: 'c.example', mail_servers: undefined },
    ]);
    expect(fields).toEqual({});
  });

  it('bad and duplicate names are field errors', () => {
    const fields: FieldErrors = {};
    expect(checkDomainSet([{ name: 'dup.test' }, { name: 'DUP.test' }, { name: 'bad..name' }], standard, fields)).toEqual([{ name: 'dup.test', mail_servers: undefined }]);
    expect(fields).toEqual({ 'domains.name': ['dup.test is listed more than once', '"bad..name" is not a valid domain name'] });
  });

  it('applies the package domain limit', () => {
    const fields: FieldErrors = {};
    checkDomainSet([{ name: 'a.test' }, { name: 'b.test' }], { features: [], limits: { max_domains: 1 } }, fields);
    expect(fields).toEqual({ domains: ['has too many entries for this package (maximum is 1)'] });
  });
});
