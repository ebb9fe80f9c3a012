import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditChanges, recordAudit } from '../../src/core/audit/audit.service.js';
import { ctxFor, inTransaction } from '../../src/core/context.js';
import { auditMark, auditSince } from '../support/audit.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// The core's half of the audit log: the changed-field diff, and writing only inside the mutation's transaction.
describe('auditChanges', () => {
  it('an update keeps only the fields whose value differs, with before and after', () => {
    expect(auditChanges({ name: 'a', n: 1, tags: ['x'], limits: { max: 1 } }, { name: 'b', n: 1, tags: ['x'], limits: { max: 2 } })).toEqual({
      name: { before: 'a', after: 'b' },
      limits: { before: { max: 1 }, after: { max: 2 } },
    });
    expect(auditChanges({ name: 'a' }, { name: 'a' })).toEqual({});
    // Object key order is no change.
    expect(auditChanges({ limits: { a: 1, b: 2 } }, { limits: { b: 2, a: 1 } })).toEqual({});
  });

  it('a creation lists its set fields, after only; a removal its fields, before only', () => {
    expect(auditChanges(undefined, { name: 'a', city: null, phone: undefined, count: 0 })).toEqual({ name: { after: 'a' }, count: { after: 0 } });
    expect(auditChanges({ name: 'a' }, undefined)).toEqual({ name: { before: 'a' } });
  });

  it('dates become ISO text; a field new in after is compared with null', () => {
    const at = new Date('2030-01-02T03:04:05.678Z');
    expect(auditChanges({ approved_at: null }, { approved_at: at, reason: 'x' })).toEqual({ approved_at: { before: null, after: '2030-01-02T03:04:05.678Z' }, reason: { before: null, after: 'x' } });
  });

  it('drops secret-named fields at any depth, whatever their value', () => {
    const secretish = { api_key: 'k1', API_TOKEN: 't1', key: 'k2', key_digest: 'd', token: 't2', token_digest: 'd2', password: 'p', password_hash: 'h', secret: 's', api_key_digest: 'd3' };
    expect(auditChanges(undefined, { name: 'n', ...secretish, nested: { ...secretish, keep: 1 }, list: [{ token: 'x', keep: 2 }] })).toEqual({
      name: { after: 'n' },
      nested: { after: { keep: 1 } },
      list: { after: [{ keep: 2 }] },
    });
    expect(auditChanges({ api_token: 'old' }, { api_token: 'new' })).toEqual({});
  });

  it('text jsonb cannot hold (lone surrogates, NUL) is stored as U+FFFD', () => {
    expect(auditChanges(undefined, { name: 'a\ud800b\u0000c', ['k\udc00']: 'v', emoji: '😀' })).toEqual({ name: { after: 'a\ufffdb\ufffdc' }, ['k\ufffd']: { after: 'v' }, emoji: { after: '😀' } });
  });
});

describe('recordAudit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const entry = { action: 'feature.created' as const, targetType: 'feature' as const, targetId: 1, resellerId: null, after: { name: 'x' } };

  it('refuses to write outside a transaction, where it could not share the fate of the change', async () => {
    const ctx = ctxFor(t.app.deps, { kind: 'system' });
    const mark = await auditMark(t);
    await expect(recordAudit(ctx, entry)).rejects.toThrow(/inside the transaction/);
    expect(await auditSince(t, mark)).toEqual([]);
  });

  it('rolls back with the transaction it was written in, and commits with it', async () => {
    const ctx = ctxFor(t.app.deps, { kind: 'operator', keyId: 7 }, undefined, { id: 'core-req', ip: '192.0.2.1' });
    const mark = await auditMark(t);
    await expect(
      inTransaction(ctx, async (tx) => {
        await recordAudit(tx, entry);
        throw new Error('the change failed after its event was written');
      }),
    ).rejects.toThrow('the change failed');
    expect(await auditSince(t, mark)).toEqual([]);

    await inTransaction(ctx, (tx) => recordAudit(tx, [entry, { ...entry, targetId: 2 }]));
    const written = await auditSince(t, mark);
    expect(written.map((e) => [e.target_id, e.actor_kind, e.actor_id, e.request_id, e.source_ip])).toEqual([
      ['1', 'operator', 7, 'core-req', '192.0.2.1'],
      ['2', 'operator', 7, 'core-req', '192.0.2.1'],
    ]);
  });
});
