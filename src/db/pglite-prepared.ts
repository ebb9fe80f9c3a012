import { parse, protocol, type PGlite } from '@electric-sql/pglite';

type BackendMessage = Parameters<typeof parse.parseResults>[0][number];
type RowDescriptionMessage = Extract<BackendMessage, { name: 'rowDescription' }>;

/** Statements kept prepared; queries past this run unnamed, so memory stays bounded (as on PostgreSQL). */
const MAX_PREPARED = 500;

interface Prepared {
  name: string;
  /** The parameters' types, for PGlite's serializers (what its own `query` asks for on every call). */
  paramTypes: number[];
  /** The result's columns, for parsing the rows; absent when the statement returns none. */
  rows: RowDescriptionMessage | undefined;
}

/** What the Kysely dialect calls (`kysely-pglite-dialect` uses `query` and `close` only). */
export interface PgliteQueryClient {
  query(sql: string, params?: readonly unknown[]): Promise<{ rows: unknown[]; affectedRows?: number }>;
  close(): Promise<void>;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * PGlite's `query` parses and plans every statement again, in six separate calls into the database
 * (parse, describe, bind, describe, execute, sync). The PostgreSQL mode names its statements and lets
 * each connection keep them prepared (prepared-pool.ts); this does the same for the embedded database:
 * a statement is parsed and described once, then each execution is one call of bind, execute and sync,
 * with the values still sent as parameters. Measured on one simple look-up by primary key: 221 µs of
 * CPU against 547 µs through `query` (docs/benchmarks.md, row 12).
 */
export function preparedPglite(pglite: PGlite, options: { maxPrepared?: number } = {}): PgliteQueryClient {
  const maxPrepared = options.maxPrepared ?? MAX_PREPARED;
  const { serialize } = protocol;
  const statements = new Map<string, Prepared>();
  let counter = 0;
  // The same lock PGlite's own `query` takes: LISTEN/UNLISTEN and dumps queue behind it too.
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => pglite._runExclusiveQuery(fn);

  const prepare = async (sql: string): Promise<Prepared | undefined> => {
    let st = statements.get(sql);
    if (st || statements.size >= maxPrepared) return st;
    const name = `hp_${++counter}`;
    const { messages } = await pglite.execProtocol(concat([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()]));
    const params = messages.find((m) => m.name === 'parameterDescription') as { dataTypeIDs: number[] } | undefined;
    st = { name, paramTypes: params?.dataTypeIDs ?? [], rows: messages.find((m): m is RowDescriptionMessage => m.name === 'rowDescription') };
    statements.set(sql, st);
    return st;
  };

  const run = async (st: Prepared, params: readonly unknown[]) => {
    const values = params.map((v, i) => {
      if (v === null || v === undefined) return null;
      const serializer = pglite.serializers[st.paramTypes[i]!];
      return serializer ? serializer(v) : String(v);
    });
    const { messages } = await pglite.execProtocol(concat([serialize.bind({ statement: st.name, values }), serialize.execute({}), serialize.sync()]));
    const all: BackendMessage[] = st.rows ? [st.rows, ...messages] : messages;
    return parse.parseResults(all, pglite.parsers)[0] ?? { rows: [] };
  };
  // After a schema change PostgreSQL plans a prepared statement again by itself, but refuses one whose
  // result columns changed (0A000, "cached plan must not change result type"): parse it anew, once.
  const forget = async (sql: string, st: Prepared) => {
    statements.delete(sql);
    await pglite.execProtocol(concat([serialize.close({ type: 'S', name: st.name }), serialize.sync()]));
  };

  // PGlite's own `query` refuses a closed instance with these words (the doors answer them with 503,
  // errors/db-unavailable.ts); its `execProtocol` does not check, and must not be reached then.
  const closed = () => new Error('PGlite is closed');
  return {
    query: async (sql, params = []) => {
      if (pglite.closed) throw closed();
      const result = await exclusive(async () => {
        if (pglite.closed) throw closed();
        const st = await prepare(sql);
        if (!st) return undefined;
        try {
          return await run(st, params);
        } catch (e) {
          if ((e as { code?: string }).code !== '0A000' || !/cached plan/.test((e as Error).message)) throw e;
          await forget(sql, st);
          const again = await prepare(sql);
          return again ? run(again, params) : undefined;
        }
      });
      // More distinct statements than the cache keeps: PGlite's own unnamed path (it takes the lock itself).
      return result ?? pglite.query(sql, [...params]);
    },
    close: () => pglite.close(),
  };
}
