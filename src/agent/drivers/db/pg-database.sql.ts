import pg from 'pg';

// The PostgreSQL side of the db role's `database` objects: connections made from the node's own admin
// URL (`--pg-url`, never sent anywhere) and the statements that need more than one line. Names come
// from the wire contract's plain identifiers and are quoted again with escapeIdentifier; values travel
// as parameters, except in DDL that takes no parameters, where they are escaped literals.

/** The admin URL with another database in it (libpq URLs name the database in the path). */
export function urlFor(adminUrl: string, database?: string): string {
  if (database === undefined) return adminUrl;
  const u = new URL(adminUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** Checks the admin URL once, when the driver is built: a postgres:// or postgresql:// URL. */
export function checkAdminUrl(adminUrl: string): void {
  let u: URL;
  try {
    u = new URL(adminUrl);
  } catch {
    throw new Error('the PostgreSQL admin URL is not a URL (postgres://user:password@host:port/database)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('the PostgreSQL admin URL must start with postgres:// or postgresql://');
}

/** libpq's environment for pg_dump: the password goes in PGPASSWORD, never on a command line others can read. */
export function libpqEnv(adminUrl: string, database: string): Record<string, string> {
  const u = new URL(adminUrl);
  const env: Record<string, string> = { PGDATABASE: database };
  const host = u.searchParams.get('host') ?? decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ''));
  if (host) env.PGHOST = host;
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

export async function connect(adminUrl: string, database?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: urlFor(adminUrl, database), application_name: 'hostplane-agent', connectionTimeoutMillis: 10_000 });
  // A server that goes away mid-session emits 'error' on the client; the failing query reports it.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function withClient<T>(adminUrl: string, database: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connect(adminUrl, database);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Hands every table, view, sequence and schema of the instance's database that someone else owns
 * (the template's owner, usually the admin) to the instance's owner, so the owner can use what the
 * template brought. Sequences linked to a table follow their table. System schemas are left alone.
 */
export const REASSIGN_TO_OWNER = `
do $$
declare
  owner_name text := current_setting('hostplane.owner');
  owner_oid oid := (select oid from pg_roles where rolname = owner_name);
  r record;
begin
  for r in
    select n.nspname from pg_namespace n
    where n.nspowner <> owner_oid and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
      and n.nspowner <> (select oid from pg_roles where rolname = 'pg_database_owner')
  loop
    execute format('alter schema %I owner to %I', r.nspname, owner_name);
  end loop;
  for r in
    select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relowner <> owner_oid and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
      and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))
  loop
    execute format('alter %s %I.%I owner to %I',
      case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end,
      r.nspname, r.relname, owner_name);
  end loop;
end $$`;

/** Odoo's saas_client parameters, as its saas_client module reads them from ir_config_parameter. */
export function saasClientParams(limits: { maxUsers: number; storageMb: number; expiresAt: string | null }, suspended: boolean): [string, string][] {
  return [
    ['saas_client.max_users', String(limits.maxUsers)],
    ['saas_client.total_storage_limit', String(limits.storageMb)],
    ['saas_client.suspended', suspended ? '1' : '0'],
    // Odoo's server datetime format, UTC; empty: no expiry.
    ['saas_client.expiration_datetime', limits.expiresAt ? limits.expiresAt.replace('T', ' ').replace(/(\.\d+)?Z$/, '') : ''],
  ];
}

/**
 * Writes the parameters given in the transaction's `hostplane.params` setting (a JSON list of
 * [key, value] pairs) where the database has Odoo's ir_config_parameter. No unique key is assumed (a
 * template may lack Odoo's): update, else insert. A DO block, so the whole write is one statement
 * sent with the others rather than a round trip per parameter.
 */
export const WRITE_CONFIG_PARAMS = `
do $$
declare
  p jsonb;
begin
  if to_regclass('ir_config_parameter') is null then
    return;
  end if;
  for p in select jsonb_array_elements(current_setting('hostplane.params')::jsonb)
  loop
    update ir_config_parameter set value = p->>1 where key = p->>0;
    if not found then
      insert into ir_config_parameter (key, value) values (p->>0, p->>1);
    end if;
  end loop;
end $$`;

/** The error text PostgreSQL gave, with the hint that helps an operator where there is one. */
export function pgMessage(e: unknown): string {
  const err = e as { message?: string; code?: string; hint?: string };
  if (err.code === '55006') return `${err.message ?? 'the template is in use'} (sessions on the template block CREATE DATABASE ... TEMPLATE; the agent does not end them: close them and it retries)`;
  return err.message ?? String(e);
}
