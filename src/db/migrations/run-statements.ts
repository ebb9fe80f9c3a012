import { sql, type Kysely } from 'kysely';

// Both drivers use the extended protocol, which takes one statement per call.
export async function runStatements(db: Kysely<unknown>, statements: string[]): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}
