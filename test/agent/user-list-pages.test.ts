import { describe, expect, it } from 'vitest';
import { userListPages, userListRequests } from '../../src/agent/heartbeat.js';
import { MAX_USERS_PER_PAGE, UsageRequest, UserListPage } from '../../src/core/nodes/agent-wire.schema.js';

// How the agent cuts a database's whole user list for /agent/v1/usage (docs/adr/0027, "Addendum:
// every user reported"): pages within the contract's count and about 1 MB, requests within the 3 MB
// the agent allows itself (the server takes 4 MB), whatever the logins hold.

const DIGEST = 'a'.repeat(64);
const AT = '2026-12-07T06:00:00.000Z';
const plain = (n: number) => Array.from({ length: n }, (_, i) => ({ login: `user${i}@x.test`, name: `User ${i}`, active: true, share: false }));
// The worst a user can be: every character a control character, six bytes each in JSON.
const hostile = (n: number) => Array.from({ length: n }, () => ({ login: '\u0001'.repeat(254), name: '\u0002'.repeat(256), active: true, share: false }));

/** The list as the control plane puts it back together, in order. */
const joined = (pages: UserListPage[]) => pages.flatMap((p) => p.users);

describe('user list pages', () => {
  it('cuts a long list by count: every page fits the contract, offsets follow, the list comes back whole', () => {
    const users = plain(2_345);
    const pages = userListPages('db7', AT, DIGEST, users);
    expect(pages.map((p) => [p.offset, p.users.length, p.total])).toEqual([
      [0, MAX_USERS_PER_PAGE, 2_345],
      [1_000, MAX_USERS_PER_PAGE, 2_345],
      [2_000, 345, 2_345],
    ]);
    for (const p of pages) expect(UserListPage.safeParse(p).success).toBe(true);
    expect(joined(pages)).toEqual(users);
  });

  it('cuts hostile logins by size, and packs the pages into requests the server takes', () => {
    const users = hostile(1_500);
    const pages = userListPages('db7', AT, DIGEST, users);
    for (const p of pages) expect(JSON.stringify(p).length).toBeLessThanOrEqual(1024 * 1024 + 4096);
    expect(pages.length).toBeGreaterThan(Math.ceil(users.length / MAX_USERS_PER_PAGE));
    expect(joined(pages)).toEqual(users);
    const requests = userListRequests(pages);
    for (const r of requests) {
      const body = { samples: [], userLists: r };
      expect(UsageRequest.safeParse(body).success).toBe(true);
      expect(JSON.stringify(body).length).toBeLessThan(4 * 1024 * 1024);
    }
    expect(requests.flat()).toEqual(pages);
  });

  it('an empty list is one empty page: the control plane learns res_users holds nobody', () => {
    expect(userListPages('db7', AT, DIGEST, [])).toEqual([{ id: 'db7', at: AT, digest: DIGEST, total: 0, offset: 0, users: [] }]);
  });
});
