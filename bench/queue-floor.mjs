// The queue "floor" for `npm run bench` (row 5): raw SKIP LOCKED claims, nothing else.
//
// Claims every due job of one lane from a table with the same shape and indexes as Hostplane's
// `jobs` (the bench creates `floor_jobs` with `create table floor_jobs (like jobs including all)`),
// in a tight loop on ONE connection: the same claim statement as src/jobs/job.repository.ts
// `claimJobs` (update ... where id = any(array(select ... order by run_at, id limit $batch for update
// skip locked)) returning the same 13 columns), then the same "succeeded" update as `markSucceeded`, until
// a claim returns no row. No lane lease, no handler, no map rewrite, no polling sleep. Named prepared
// statements, so PostgreSQL parses and plans each statement once.
//
// Environment: DATABASE_URL. Arguments: <table> <lane> <batch size> <max jobs>. Prints one JSON line
// { claimed, batches, ms, cpuMs } on stdout; `ms` runs from just before the first claim to the end
// of the claim that found nothing, `cpuMs` is this process's CPU time over the same span. Bounded:
// stops with an error after <max jobs> / <batch size> + 10 batches or 120 s.
import { performance } from 'node:perf_hooks';
import pg from 'pg';

const [table = 'floor_jobs', lane = 'relay', batchArg = '1000', maxArg = '100000'] = process.argv.slice(2);
if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`bad table name ${table}`);
const batch = Number(batchArg);
const maxBatches = Math.ceil(Number(maxArg) / batch) + 10;

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const client = new pg.Client({
  connectionString: process.env.DATABASE_URL,
  // Hostplane's pool parses int8 and numeric as numbers; so does the floor.
  types: { getTypeParser: (oid, format) => (oid === INT8_OID || oid === NUMERIC_OID ? Number : pg.types.getTypeParser(oid, format)) },
});
await client.connect();

const columns = '"id", "kind", "payload", "state", "lane", "run_at", "attempts", "max_attempts", "last_error", "client_id", "reseller_id", "created_at", "finished_at"';
const claim = {
  name: 'queue_floor_claim',
  text:
    `update ${table} set state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3 ` +
    `where id = any(array(select id from ${table} where lane = $4 and state = 'queued' and run_at <= $3 ` +
    `order by run_at, id limit $5 for update skip locked)) returning ${columns}`,
};
const done = {
  name: 'queue_floor_done',
  text:
    `update ${table} set state = 'succeeded', finished_at = $3, updated_at = $3, locked_by = null, locked_until = null, last_error = null ` +
    'where id = any($1::bigint[]) and locked_by = $2',
};

const worker = `queue-floor:${process.pid}`;
const deadline = performance.now() + 120_000;
let claimed = 0;
let batches = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (;;) {
  const now = new Date();
  const { rows } = await client.query({ ...claim, values: [worker, new Date(now.getTime() + 60_000), now, lane, batch] });
  if (rows.length === 0) break;
  rows.sort((a, b) => a.id - b.id); // claimJobs sorts its rows too
  await client.query({ ...done, values: [rows.map((r) => r.id), worker, new Date()] });
  claimed += rows.length;
  batches++;
  if (batches > maxBatches || performance.now() > deadline) throw new Error(`queue floor did not finish: ${claimed} jobs in ${batches} batches`);
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await client.end();
process.stdout.write(`${JSON.stringify({ claimed, batches, ms, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
