// The "limit" floor of `npm run bench` row 13: GET /v1/clients/:id as one prepared statement per request.
// A bare Fastify handler (no hooks, logging, metrics or validation) sends ONE named statement that
// reads the reseller by API token and, in the same statement, builds the client's HSP JSON (mx records
// included) as text; the handler checks the key against the returned digest in constant time and the
// reseller's status, then sends PostgreSQL's text as it is. No separate credential query, no JSON
// work in JavaScript: the least a correct answer can cost here.
// Configuration from the environment: DATABASE_URL, PORT, HOSTPLANE_RELAY_HOSTS, HOSTPLANE_RELAY_PRIORITY_STEP.
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }); // Hostplane's pool size
pool.on('error', () => {});

const relayHosts = (process.env.HOSTPLANE_RELAY_HOSTS ?? 'relay1.hostplane.test,relay2.hostplane.test').split(',').map((h) => h.trim().toLowerCase());
const priorityStep = Number(process.env.HOSTPLANE_RELAY_PRIORITY_STEP ?? 10);

// The client document exists only for a client of the reseller the token names; whether the key is
// right is decided by the handler, so the digest comparison stays constant-time.
const clientDocText = `
  select r.id, r.status, r.api_key_digest,
    (select json_build_object(
       'id', c.id, 'package_uid', p.uid, 'user_count', c.user_count, 'email_address', c.email_address, 'name', c.name,
       'domains', coalesce((select json_agg(json_build_object(
           'name', d.name,
           'mx_records', (select json_agg(json_build_object('priority', h.ord * $4, 'hostname', replace(d.name, '.', '-') || '.' || h.host || '.') order by h.ord)
                          from unnest($3::text[]) with ordinality as h(host, ord)),
           'mail_servers', d.mail_servers) order by d.position, d.id)
         from domains d where d.client_id = c.id and d.released_at is null), '[]'::json))::text
     from clients c left join plans p on p.id = c.plan_id
     where c.reseller_id = r.id and c.status in ('active', 'suspended') and c.id = $2) as doc
  from resellers r where r.api_token = $1`;

const NO_MATCH = createHash('sha256').update('no such reseller').digest();
const BASIC = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i;
const CLIENT_ID = /^[0-9]{1,15}$/;
const error = (reply, status, message) => reply.code(status).send({ errors: { base: [message] } });

const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

app.get('/v1/clients/:id', async (req, reply) => {
  const m = BASIC.exec(req.headers.authorization ?? '');
  const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) return error(reply, 401, 'API token and key required (HTTP Basic auth)');
  const id = req.params.id;
  const { rows } = await pool.query({
    name: 'limit_client_doc',
    text: clientDocText,
    values: [decoded.slice(0, colon), CLIENT_ID.test(id) ? Number(id) : -1, relayHosts, priorityStep],
  });
  const row = rows[0];
  const digest = createHash('sha256').update(decoded.slice(colon + 1)).digest();
  const stored = row?.api_key_digest ? Buffer.from(row.api_key_digest, 'hex') : NO_MATCH;
  if (!(stored.length === digest.length && timingSafeEqual(digest, stored)) || !row) return error(reply, 401, 'invalid API token or key');
  if (row.status !== 'active') return error(reply, 403, 'reseller account is not active');
  if (!row.doc) return error(reply, 404, 'client not found');
  return reply.type('application/json; charset=utf-8').send(row.doc);
});

const shutdown = async () => {
  await app.close();
  await pool.end();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());

await app.listen({ port: Number(process.env.PORT ?? 8091), host: '127.0.0.1' });
