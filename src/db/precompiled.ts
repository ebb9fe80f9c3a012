import type { Compilable, CompiledQuery } from 'kysely';
import type { Executor } from './database.js';

class Slot {
  constructor(readonly index: number) {}
}

/**
 * Builds and compiles a hot query once, then runs it with new values. Building and compiling a
 * Kysely query costs more CPU than PostgreSQL spends executing a prepared primary-key look-up, so
 * the per-request paths reuse the compiled SQL (the same text also keeps its prepared statement).
 * The builder must not branch on its arguments: they are placeholders while it runs.
 */
export function precompiled<Args extends unknown[], Row>(build: (db: Executor, ...args: Args) => Compilable<Row>) {
  let template: (CompiledQuery<Row> & { slots: number[] }) | undefined;
  return async function run(db: Executor, ...args: Args): Promise<Row[]> {
    if (!template) {
      const compiled = build(db, ...(args.map((_, i) => new Slot(i)) as Args)).compile();
      template = { ...compiled, slots: compiled.parameters.map((p) => (p instanceof Slot ? p.index : -1)) };
    }
    const t = template;
    const parameters = t.slots.map((slot, i) => (slot >= 0 ? args[slot] : t.parameters[i]));
    const result = await db.executeQuery<Row>({ sql: t.sql, parameters, query: t.query, queryId: t.queryId });
    return result.rows;
  };
}
