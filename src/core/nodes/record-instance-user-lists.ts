import { inTransaction, type Ctx } from '../context.js';
import type { UserListPage } from './agent-wire.schema.js';
import { countListRows, dropOtherLists, insertListRows, keepList, lockListDatabases } from './instance-user-lists.repository.js';

// The whole user lists a db node sends when the control plane answered a sample's digest with
// `usersWanted` (docs/adr/0027, "Addendum: every user reported"). A list comes in pages, in order,
// possibly across requests; its rows gather under its digest and become the instance's list when the
// last page is in. A page that does not follow the rows gathered (a lost request, a list that changed
// and restarted) is left out: the next interval's sample names the digest again and the list is sent
// again from its first page, which drops whatever was gathered of another digest.

const DB_ID = /^db([1-9][0-9]{0,17})$/;

/** Records pages of user lists (validated by the caller) for the databases `nodeId` holds; returns how many were taken. */
export async function recordUserListPages(ctx: Ctx, nodeId: number, pages: readonly UserListPage[]): Promise<number> {
  const valid = pages.map((p) => ({ ...p, clientId: Number(DB_ID.exec(p.id)?.[1] ?? 0) })).filter((p) => p.clientId > 0 && p.offset + p.users.length <= p.total);
  if (valid.length === 0) return 0;
  return inTransaction(ctx, async (tx) => {
    const kept = new Map((await lockListDatabases(tx.db, nodeId, [...new Set(valid.map((p) => p.clientId))])).map((d) => [d.id, d.users_digest]));
    let taken = 0;
    for (const p of valid) {
      if (!kept.has(p.clientId)) continue;
      const current = kept.get(p.clientId) ?? null;
      // The list kept already is this one: a page resent after it was whole.
      if (current === p.digest) continue;
      if (p.offset === 0) await dropOtherLists(tx.db, p.clientId, current);
      else if ((await countListRows(tx.db, p.clientId, p.digest)) !== p.offset) continue;
      await insertListRows(tx.db, p.clientId, p.digest, p.offset, p.users);
      taken += 1;
      if (p.offset + p.users.length === p.total) {
        await keepList(tx.db, p.clientId, p.digest, new Date(Date.parse(p.at)).toISOString(), p.total);
        kept.set(p.clientId, p.digest);
      }
    }
    return taken;
  });
}
