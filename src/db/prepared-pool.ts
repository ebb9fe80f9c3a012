import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/** Statements a connection keeps prepared; queries past this run unnamed, so memory stays bounded. */
const MAX_PREPARED_PER_CONNECTION = 500;

const prepared = new WeakMap<pg.PoolClient, Set<string>>();
const names = new Map<string, string>();

function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `hp_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    if (names.size < 10_000) names.set(text, name);
  }
  return name;
}

/**
 * Kysely sends every query unnamed, which makes PostgreSQL parse and plan it on each execution.
 * Naming statements by their text lets each connection prepare a hot query once and reuse it:
 * the same SQL, values still sent as parameters.
 */
export function preparedStatementPool(pool: pg.Pool): PostgresPool {
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let seen = prepared.get(client);
    if (!seen) prepared.set(client, (seen = new Set()));
    const known = seen;
    return {
      query: ((textOrConfig: unknown, values?: unknown[]) => {
        // Cursors (streamed queries) pass straight through.
        if (typeof textOrConfig !== 'string') return client.query(textOrConfig as pg.Submittable);
        const name = statementName(textOrConfig);
        if (!known.has(name)) {
          if (known.size >= MAX_PREPARED_PER_CONNECTION) return client.query(textOrConfig, values);
          known.add(name);
        }
        return client.query({ name, text: textOrConfig, values: values ?? [] });
      }) as unknown as PostgresPoolClient['query'],
      // Kysely asks to destroy a connection whose ROLLBACK failed: it must not go back to the pool mid-transaction.
      release: (destroy?: boolean) => client.release(destroy),
    };
  };
  return {
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  };
}
