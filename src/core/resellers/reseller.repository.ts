import { sql, type Insertable, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { ResellersTable } from '../../db/schema.js';
import type { Reseller } from './reseller.schema.js';

const columns = [
  'id',
  'name',
  'first_name',
  'last_name',
  'email_address',
  'address',
  'city',
  'state',
  'postal_code',
  'country',
  'phone',
  'username',
  'application_name',
  'tags',
  'login_hostname',
  'status',
  'approved_at',
  'suspended_at',
  'suspend_reason',
  'created_at',
] as const;

export async function insertReseller(db: Executor, row: Insertable<ResellersTable>): Promise<Reseller> {
  return db.insertInto('resellers').values(row).returning(columns).executeTakeFirstOrThrow();
}

/** No row when the username is taken: the transaction stays usable, unlike after a unique violation. */
export async function insertResellerUnlessUsernameTaken(db: Executor, row: Insertable<ResellersTable>): Promise<Reseller | undefined> {
  return db
    .insertInto('resellers')
    .values(row)
    .onConflict((oc) => oc.expression(sql`lower(username)`).doNothing())
    .returning(columns)
    .executeTakeFirst();
}

export async function findResellerById(db: Executor, id: number): Promise<Reseller | undefined> {
  return db.selectFrom('resellers').select(columns).where('id', '=', id).executeTakeFirst();
}

export async function listResellers(db: Executor, filter: { status?: string }): Promise<Reseller[]> {
  let q = db.selectFrom('resellers').select(columns);
  if (filter.status) q = q.where('status', '=', filter.status as Reseller['status']);
  return q.orderBy('id').execute();
}

/** With `onlyIfStatus`, no row comes back when a concurrent change moved the reseller on first. */
export async function updateReseller(db: Executor, id: number, patch: Updateable<ResellersTable>, onlyIfStatus?: Reseller['status']): Promise<Reseller | undefined> {
  let q = db.updateTable('resellers').set(patch).where('id', '=', id);
  if (onlyIfStatus) q = q.where('status', '=', onlyIfStatus);
  return q.returning(columns).executeTakeFirst();
}

export async function findResellerBranding(db: Executor, id: number) {
  return db.selectFrom('resellers').select(['login_hostname', 'tags']).where('id', '=', id).executeTakeFirst();
}

export async function findOwnCredentials(db: Executor, id: number) {
  return db
    .selectFrom('resellers as r')
    .leftJoin('users as u', (join) => join.onRef('u.reseller_id', '=', 'r.id').on('u.role', '=', 'reseller'))
    .select(['r.api_token', 'r.approved_at', 'u.login'])
    .where('r.id', '=', id)
    .executeTakeFirst();
}
