// The "floor" for `npm run bench`: the fastest honest bare version of the reseller API endpoints
// the bench measures. A bare Fastify server (no Hostplane layers: no Kysely, no zod, no hooks, no
// metrics, no request ids) running the same SQL with plain `pg` named prepared statements on the
// same database, doing the same work per request:
//   GET  /v1/clients/:id  Basic auth (reseller by api_token, constant-time compare of sha256(key)),
//                         the client with its json_agg'd domains, mapped to the HSP JSON (mx records).
//   POST /v1/clients      Basic auth, then one transaction inserting the client, its domains, the
//                         client's admin user and one relay job per domain; answers 201 with the HSP
//                         JSON of the new client. The jobs go into `floor_jobs`, a table the bench
//                         creates with the shape, indexes and foreign keys of Hostplane's `jobs`
//                         (`create table floor_jobs (like jobs including all)`), so the floor pays
//                         the same insert cost while no Hostplane worker picks its jobs up.
// Configuration comes from the environment: DATABASE_URL, PORT, HOSTPLANE_RELAY_HOSTS,
// HOSTPLANE_RELAY_PRIORITY_STEP (the same values the bench gives Hostplane).
// FLOOR_UNNAMED=1 (diagnostics only, never used by `npm run bench`) sends the same SQL as unnamed
// statements, parsed and planned by PostgreSQL on every execution the way Kysely's queries are.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const toNumber = (v) => Number(v);

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 10, // Hostplane's pool size
  types: {
    getTypeParser: (oid, format) => (oid === INT8_OID || oid === NUMERIC_OID ? toNumber : pg.types.getTypeParser(oid, format)),
  },
});
pool.on('error', () => {});

const relayHosts = (process.env.HOSTPLANE_RELAY_HOSTS ?? 'relay1.hostplane.test,relay2.hostplane.test').split(',').map((h) => h.trim().toLowerCase());
const priorityStep = Number(process.env.HOSTPLANE_RELAY_PRIORITY_STEP ?? 10);

const unnamed = process.env.FLOOR_UNNAMED === '1';
const stmt = (name, text) => (unnamed ? { text } : { name, text });

// The same SQL Kysely compiles for credential.repository findResellerCredentials and client.repository baseQuery.
const authQuery = stmt('floor_auth', 'select "id", "status", "api_key_digest" from "resellers" where "api_token" = $1');
const clientByIdText =
  'select "c"."id", "c"."reseller_id", "p"."uid" as "package_uid", "c"."name", "c"."email_address", "c"."user_count", "c"."status", ' +
  "coalesce((select json_agg(json_build_object('name', d.name, 'status', d.status, 'mail_servers', d.mail_servers) order by d.position, d.id) " +
  "from domains d where d.client_id = c.id and d.released_at is null), '[]'::json) as \"domains\" " +
  'from "clients" as "c" left join "plans" as "p" on "p"."id" = "c"."plan_id" ' +
  'where "c"."reseller_id" = $1 and "c"."status" in ($2, $3) and "c"."id" = $4';
const insertClientText =
  'insert into clients (reseller_id, plan_id, name, email_address, user_count, service_meta, created_at, updated_at) ' +
  "values ($1, (select id from plans where uid = $2), $3, $4, $5, '{}', $6, $6) returning id, plan_id";
const insertDomainsText =
  'insert into domains (client_id, reseller_id, name, position, mail_servers, created_at, updated_at) ' +
  "select $1, $2, t.name, t.ord - 1, '{}', $4, $4 from unnest($3::text[]) with ordinality as t(name, ord)";
const insertAdminText =
  "insert into users (role, client_id, reseller_id, login, email, name, created_at) values ('client_admin', $1, $2, 'admin', $3, 'Administrator', $4)";
// The jobs Hostplane's client.repository insertClientWithDomains enqueues: one relay.apply per domain.
const insertJobsText =
  'insert into floor_jobs (kind, lane, payload, max_attempts, client_id, reseller_id, run_at, created_at, updated_at) ' +
  "select 'relay.apply', 'relay', jsonb_build_object('change', 'provision', 'domain', t.name), 18, $1, $2, $4, $4, $4 from unnest($3::text[]) as t(name)";

const NO_MATCH = createHash('sha256').update('no such reseller').digest();
const BASIC = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i;
const CLIENT_ID = /^[0-9]{1,15}$/;

class HttpError extends Error {
  constructor(status, field, message) {
    super(message);
    this.status = status;
    this.body = { errors: { [field]: [message] } };
  }
}

async function authenticate(req) {
  const m = BASIC.exec(req.headers.authorization ?? '');
  const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new HttpError(401, 'base', 'API token and key required (HTTP Basic auth)');
  const token = decoded.slice(0, colon);
  const key = decoded.slice(colon + 1);
  const { rows } = await pool.query({ ...authQuery, values: [token] });
  const row = rows[0];
  const digest = createHash('sha256').update(key).digest();
  const stored = row?.api_key_digest ? Buffer.from(row.api_key_digest, 'hex') : NO_MATCH;
  if (!(stored.length === digest.length && timingSafeEqual(digest, stored)) || !row) throw new HttpError(401, 'base', 'invalid API token or key');
  if (row.status !== 'active') throw new HttpError(403, 'base', 'reseller account is not active');
  return row.id;
}

function mxRecords(name) {
  const label = name.replaceAll('.', '-');
  return relayHosts.map((relay, i) => ({ priority: (i + 1) * priorityStep, hostname: `${label}.${relay}.` }));
}

function toHspClient(c) {
  return {
    id: c.id,
    package_uid: c.package_uid,
    user_count: c.user_count,
    email_address: c.email_address,
    name: c.name,
    domains: c.domains.map((d) => ({ name: d.name, mx_records: mxRecords(d.name), mail_servers: d.mail_servers })),
  };
}

const app = Fastify({ logger: false });

app.setErrorHandler((err, _req, reply) => {
  if (err instanceof HttpError) return reply.code(err.status).send(err.body);
  return reply.code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500).send({ errors: { base: [err.message] } });
});

app.get('/healthz', async () => ({ status: 'ok' }));

app.get('/v1/clients/:id', async (req, reply) => {
  const resellerId = await authenticate(req);
  const id = req.params.id;
  if (!CLIENT_ID.test(id)) throw new HttpError(404, 'base', 'client not found');
  const { rows } = await pool.query({ ...stmt('floor_client_by_id', clientByIdText), values: [resellerId, 'active', 'suspended', Number(id)] });
  if (!rows[0]) throw new HttpError(404, 'base', 'client not found');
  return reply.send(toHspClient(rows[0]));
});

app.post('/v1/clients', async (req, reply) => {
  const resellerId = await authenticate(req);
  const body = req.body ?? {};
  const names = Array.isArray(body.domains) ? body.domains.map((d) => String(d.name).toLowerCase()) : [];
  const now = new Date();
  const email = body.email_address ?? null;
  const conn = await pool.connect();
  let id;
  try {
    await conn.query('begin');
    const { rows } = await conn.query({
      ...stmt('floor_insert_client', insertClientText),
      values: [resellerId, body.package_uid, body.name ?? null, email, body.user_count, now],
    });
    if (rows[0].plan_id === null) throw new HttpError(422, 'package_uid', 'does not exist');
    id = rows[0].id;
    await conn.query({ ...stmt('floor_insert_domains', insertDomainsText), values: [id, resellerId, names, now] });
    await conn.query({ ...stmt('floor_insert_admin', insertAdminText), values: [id, resellerId, email, now] });
    await conn.query({ ...stmt('floor_insert_jobs', insertJobsText), values: [id, resellerId, names, now] });
    await conn.query('commit');
  } catch (e) {
    await conn.query('rollback').catch(() => {});
    throw e;
  } finally {
    conn.release();
  }
  const client = {
    id,
    package_uid: body.package_uid,
    user_count: body.user_count,
    email_address: email,
    name: body.name ?? null,
    domains: names.map((name) => ({ name, status: 'initializing', mail_servers: [] })),
  };
  return reply.code(201).send(toHspClient(client));
});

const shutdown = async () => {
  await app.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());

await app.listen({ port: Number(process.env.PORT ?? 8090), host: '127.0.0.1' });
