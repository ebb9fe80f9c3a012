import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { DatabaseUnavailableError } from '../errors/db-unavailable.js';
import type { PgGuard } from './pg-guard.js';

/** Statements a connection keeps prepared; queries past this run unnamed, so memory stays bounded. */
const MAX_PREPARED_PER_CONNECTION = 500;

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
 *
 * With a guard, every connect and query is watched (see PgGuard): one the guard gives up on fails at
 * once, and its connection, whose answer may still arrive, is refused further queries and dropped
 * from the pool on release rather than handed to the next request.
 */
export function preparedStatementPool(pool: pg.Pool, guard?: PgGuard, queryTimeoutMs = 0): PostgresPool {
  // One wrapper per connection for its whole life, handed out again on every checkout. Kysely keys its
  // own per-connection objects by the object `connect` returns; a new wrapper per checkout made it build
  // a new connection object and add entries to two weak collections on every query, garbage that
  // outlived the request and made every scavenge slower (docs/benchmarks.md, "the tail of rows 1 and 13").
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let wrapper = wrappers.get(client);
    if (!wrapper) wrappers.set(client, (wrapper = newWrapper(client)));
    return wrapper;
  };
  const newWrapper = (client: pg.PoolClient): PostgresPoolClient => {
    const known = new Set<string>();
    // A connection that dies while checked out emits 'error'; its queries report it, the process must not crash.
    client.on('error', () => {});
    // Set once the guard gives up on a query of this connection: it never serves another, and goes on release.
    let abandoned: Error | undefined;
    // A connection whose server turned read-only (a demoted primary, ADR 25) stays so: it goes on
    // release, and the next connection is opened to the primary found then.
    const onError = (err: unknown) => {
      if ((err as { code?: unknown } | null)?.code === '25006') abandoned ??= err as Error;
    };
    const send = (textOrConfig: string, values?: unknown[]): Promise<unknown> => {
      const name = statementName(textOrConfig);
      if (!known.has(name)) {
        if (known.size >= MAX_PREPARED_PER_CONNECTION) return client.query(textOrConfig, values);
        known.add(name);
      }
      return client.query({ name, text: textOrConfig, values: values ?? [] });
    };
    return {
      query: ((textOrConfig: unknown, values?: unknown[]) => {
        // Cursors (streamed queries) pass straight through.
        if (typeof textOrConfig !== 'string') return client.query(textOrConfig as pg.Submittable);
        if (!guard) return send(textOrConfig, values);
        // Kysely rolls back on the connection whose query failed; that one must not wait again.
        if (abandoned) return Promise.reject(new DatabaseUnavailableError('the database connection was abandoned', { cause: abandoned }));
        return guard.run(
          () => send(textOrConfig, values),
          queryTimeoutMs,
          (err, late) => {
            abandoned = err;
            late.catch(() => {});
          },
          onError,
        );
      }) as unknown as PostgresPoolClient['query'],
      // Kysely asks to destroy a connection whose ROLLBACK failed: it must not go back to the pool
      // mid-transaction; nor may one the guard abandoned. `true` makes the pool end it.
      release: (destroy?: boolean) => client.release(destroy || abandoned !== undefined ? true : undefined),
    };
  };
  return {
    connect: async () => {
      if (!guard) return wrap(await pool.connect());
      const client = await guard.run(
        () => pool.connect(),
        0,
        (_err, late) => {
          // Connected after all, to a server found down: not worth keeping.
          late.then((c) => c.release(true), () => {});
        },
      );
      return wrap(client);
    },
    end: () => {
      guard?.stop();
      return pool.end();
    },
  };
}
