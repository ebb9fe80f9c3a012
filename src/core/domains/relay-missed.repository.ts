import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

// Names the control plane's own relay missed while relay nodes held the domains (docs/adr/0022):
// kept until the rebuild that follows the last relay node's deletion has brought its relay in line.

/** Notes names whose relay jobs stood aside, once each (the first time is kept). */
export async function recordMissedNames(db: Executor, names: readonly string[], now: Date): Promise<void> {
  if (names.length === 0) return;
  await sql`insert into relay_missed_names (name, since) select x.name, ${now} from unnest(${names as string[]}::text[]) as x(name) on conflict (name) do nothing`.execute(db);
}

/** Every name noted. */
export async function findMissedNames(db: Executor): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from relay_missed_names order by name`.execute(db);
  return rows.map((r) => r.name);
}

/** Forgets names the relay has been brought in line for. */
export async function forgetMissedNames(db: Executor, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await sql`delete from relay_missed_names where name = any(${names as string[]}::text[])`.execute(db);
}
