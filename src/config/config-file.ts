import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES } from './config.js';

/*
 * The config file is a list of environment variables (`NAME=value` lines, `#` comments): it only
 * supplies the variables loadConfig already reads, so there is one set of names, defaults and checks,
 * and the same file serves as a systemd EnvironmentFile= or a docker --env-file. A variable set in the
 * environment wins over the file.
 */

/** What `hostplane init` writes and commands find in their working directory when no file is named. */
export const DEFAULT_CONFIG_FILE = 'hostplane.env';

/** The CLI's own client settings may sit in the same file. */
const CLIENT_VARIABLES = ['HOSTPLANE_URL', 'HOSTPLANE_API_KEY'];

/** `hostplane agent` runs on hosting nodes; a node's unit file may use the same kind of file. */
const AGENT_VARIABLES = [
  'HOSTPLANE_AGENT_URL',
  'HOSTPLANE_AGENT_TOKEN',
  'HOSTPLANE_AGENT_DATA_DIR',
  'HOSTPLANE_AGENT_MARIADB_URL',
  'HOSTPLANE_AGENT_PG_URL',
  'HOSTPLANE_AGENT_PG_COPY_STRATEGY',
  'HOSTPLANE_AGENT_POLL_WAIT_SECONDS',
  'HOSTPLANE_AGENT_BACKOFF_MAX_SECONDS',
  'HOSTPLANE_AGENT_RETRY_MAX_SECONDS',
  'HOSTPLANE_AGENT_RELAY_DRIVER',
  'HOSTPLANE_AGENT_RELAY_DIR',
  'HOSTPLANE_AGENT_RELAY_RELOAD_COMMAND',
  'HOSTPLANE_AGENT_RELAY_HTTP_URL',
  'HOSTPLANE_AGENT_RELAY_HTTP_TIMEOUT_MS',
];

export class ConfigFileError extends Error {}

interface Setting {
  name: string;
  /** The default, written commented out; or, for a setting without one, an example value. */
  value: string;
  /** One line: what it does. */
  help: string;
  /** Written as an example (`#NAME=example`): the setting has no default. */
  example?: true;
}

interface Section {
  title: string;
  settings: Setting[];
}

const SECTIONS: Section[] = [
  {
    title: 'Listening',
    settings: [
      { name: 'PORT', value: '8080', help: 'HTTP (or HTTPS) port of every door: APIs, console, metrics.' },
      { name: 'HOST', value: '127.0.0.1', help: 'Listen address; 0.0.0.0 (or ::) for every interface.' },
      { name: 'HOSTPLANE_PUBLIC_URL', value: 'https://panel.example.com', example: true, help: 'Public origin used in links (login links without a branded host). Default: http://HOST:PORT.' },
      { name: 'HOSTPLANE_TLS_CERT', value: '/etc/hostplane/tls/fullchain.pem', example: true, help: 'PEM certificate chain: with HOSTPLANE_TLS_KEY every door is served over HTTPS.' },
      { name: 'HOSTPLANE_TLS_KEY', value: '/etc/hostplane/tls/privkey.pem', example: true, help: 'Unencrypted PEM private key of that certificate (both or neither).' },
      { name: 'HOSTPLANE_BODY_LIMIT', value: '262144', help: 'Largest accepted request body, in bytes.' },
      { name: 'HOSTPLANE_LOG_LEVEL', value: 'info', help: 'fatal, error, warn, info, debug, trace or silent.' },
    ],
  },
  {
    title: 'Data and database',
    settings: [
      { name: 'HOSTPLANE_DATA_DIR', value: './data', help: 'Embedded database, operator key, master key, relay maps, demo credentials.' },
      { name: 'DATABASE_URL', value: 'postgres://hostplane:password@db.example.com:5432/hostplane', example: true, help: 'A PostgreSQL server (15 or newer) instead of the embedded database. Several hosts (db1:5432,db2:5432, with target_session_attrs=read-write): the one accepting writes (docs/deploy.md).' },
      { name: 'HOSTPLANE_MASTER_KEY', value: '<openssl rand -base64 32>', example: true, help: 'Master key(s) sealing stored secrets, newest first, comma-separated. Default: <data dir>/master-key.' },
      { name: 'HOSTPLANE_DEMO', value: 'auto', help: 'auto: demo catalog on a brand-new embedded database; on: whenever the catalog is empty; off.' },
      { name: 'HOSTPLANE_DB_CONNECT_TIMEOUT_MS', value: '10000', help: 'PostgreSQL: longest wait for a connection (new or from the pool); 0: none.' },
      { name: 'HOSTPLANE_DB_STATEMENT_TIMEOUT_MS', value: '30000', help: 'PostgreSQL statement_timeout of every connection (migrations run without it); 0: none.' },
      { name: 'HOSTPLANE_DB_LOCK_TIMEOUT_MS', value: '10000', help: 'PostgreSQL lock_timeout; 0: none.' },
      { name: 'HOSTPLANE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS', value: '60000', help: 'PostgreSQL idle_in_transaction_session_timeout; 0: none.' },
      { name: 'HOSTPLANE_DB_QUERY_TIMEOUT_MS', value: '35000', help: 'PostgreSQL: a query with no answer this long fails (default: statement timeout + 5000); 0: none.' },
      { name: 'HOSTPLANE_DB_STALL_MS', value: '2000', help: 'PostgreSQL: a query waiting this long makes Hostplane probe the server on a fresh connection.' },
      { name: 'HOSTPLANE_CREDENTIAL_CACHE_MS', value: '5000', help: 'How long a verified API credential is kept in memory (emptied at once on any change); 0 asks the database on every request.' },
      { name: 'HOSTPLANE_DB_PROBE_TIMEOUT_MS', value: '1000', help: "That probe's deadline, and /readyz's." },
    ],
  },
  {
    title: 'Mail relays',
    settings: [
      { name: 'HOSTPLANE_RELAY_HOSTS', value: 'relay1.hostplane.test,relay2.hostplane.test', help: 'Relay hosts the MX records point to, in priority order.' },
      { name: 'HOSTPLANE_RELAY_PRIORITY_STEP', value: '10', help: 'MX priority of the first relay, and the step between relays.' },
      { name: 'HOSTPLANE_RELAY_DRIVER', value: 'postfix-maps', help: 'postfix-maps (map files in <data dir>/relay/) or http.' },
      { name: 'HOSTPLANE_RELAY_RELOAD_COMMAND', value: 'postmap /var/lib/hostplane/relay/transport && postfix reload', example: true, help: 'postfix-maps: a shell command run once per applied batch.' },
      { name: 'HOSTPLANE_RELAY_HTTP_URL', value: 'https://relay-api.example.com/changes', example: true, help: 'http driver: every change is POSTed here (required with http).' },
      { name: 'HOSTPLANE_RELAY_HTTP_TIMEOUT_MS', value: '10000', help: 'http driver: time limit of one request.' },
    ],
  },
  {
    title: 'Jobs and webhooks',
    settings: [
      { name: 'HOSTPLANE_WORKER', value: 'on', help: 'Run job workers inside serve; off when separate `hostplane worker` processes run them.' },
      { name: 'HOSTPLANE_WEBHOOK_TIMEOUT_MS', value: '10000', help: 'Time limit of one webhook delivery attempt, connect to last byte.' },
      { name: 'HOSTPLANE_WEBHOOK_ALLOW_PRIVATE', value: 'false', help: 'true lets webhooks target loopback and private addresses (off guards against SSRF).' },
    ],
  },
  {
    title: 'Protocol doors',
    settings: [
      { name: 'HOSTPLANE_RPC_DB', value: 'hostplane', help: 'The database name Odoo-style XML-RPC / JSON-RPC clients must send as db.' },
      { name: 'HOSTPLANE_FAMILY_RENEWAL_GAP_SECONDS', value: '0', help: 'How long after a family parent subscription ends a renewal still takes its children over.' },
      { name: 'HOSTPLANE_CRM_TOKEN_IDLE_SECONDS', value: '2592000', help: 'A CRM user token unused this long (30 days) stops working; each use extends it.' },
    ],
  },
  {
    title: 'Hosting nodes',
    settings: [
      { name: 'HOSTPLANE_NODE_UNHEALTHY_SECONDS', value: '30', help: 'A hosting node without a heartbeat this long is shown unhealthy and gets no new sites.' },
      { name: 'HOSTPLANE_NODE_HEARTBEAT_SECONDS', value: '10', help: 'How often agents send a heartbeat (handed to them with their state).' },
      { name: 'HOSTPLANE_NODE_USAGE_SECONDS', value: '60', help: 'How often agents report usage samples (storage, transfer).' },
      { name: 'HOSTPLANE_NODE_ARCHIVE_DAYS', value: '30', help: 'Days hosting nodes keep the archive of a deleted site or database (0: keep them all).' },
    ],
  },
  {
    title: 'Hosting node agent (hostplane agent, or serve with HOSTPLANE_WITH_AGENT)',
    settings: [
      { name: 'HOSTPLANE_WITH_AGENT', value: '0', help: '1: serve also runs a local agent (node "local", role web) against itself, for a one-machine install.' },
      { name: 'HOSTPLANE_AGENT_URL', value: 'https://panel.example.com', example: true, help: 'hostplane agent: the control plane it pulls its desired state from (--url).' },
      { name: 'HOSTPLANE_AGENT_TOKEN', value: '<the enrolment token of hostplane node create>', example: true, help: 'hostplane agent: one-time enrolment token (--token); only needed until credentials.json exists.' },
      { name: 'HOSTPLANE_AGENT_DATA_DIR', value: '/var/lib/hostplane-agent', example: true, help: 'hostplane agent: credentials, applied state, sites and archives (--data-dir).' },
      { name: 'HOSTPLANE_AGENT_NGINX_PREFIX', value: '/var/lib/hostplane-agent/nginx', example: true, help: "The web role's nginx prefix (--nginx-prefix). Default: <agent data dir>/nginx." },
      { name: 'HOSTPLANE_AGENT_HTTP_PORT', value: '80', help: 'The port nginx serves sites on (--http-port).' },
      { name: 'HOSTPLANE_AGENT_WEB_DRIVER', value: 'nginx', help: 'nginx serves sites; files only records them as JSON (a dry run without a web server).' },
      { name: 'HOSTPLANE_AGENT_NGINX_BIN', value: '/usr/sbin/nginx', example: true, help: 'The nginx binary the web role runs. Default: /usr/sbin/nginx, else nginx on PATH.' },
      { name: 'HOSTPLANE_AGENT_PHP_FPM_BIN', value: '/usr/sbin/php-fpm8.2', example: true, help: "The php-fpm binary. Default: the newest /usr/sbin/php-fpm*, else php-fpm on PATH." },
      { name: 'HOSTPLANE_AGENT_MARIADB_URL', value: 'mysql://hostplane_agent:<password>@127.0.0.1:3306', example: true, help: "The db role's MariaDB admin connection (--mariadb-url; ?socket=<path> for a Unix socket): sites' MySQL users and databases. It stays on the node." },
      { name: 'HOSTPLANE_AGENT_PG_URL', value: 'postgres://hostplane_agent:<password>@127.0.0.1:5432/postgres', example: true, help: "The db role's PostgreSQL admin connection (--pg-url): a role with CREATEDB and CREATEROLE. It stays on the node." },
      { name: 'HOSTPLANE_AGENT_PG_COPY_STRATEGY', value: 'auto', help: "How the db role copies a SaaS database from its template (--pg-copy-strategy): file_copy, wal_log, or auto (file_copy from 32 MB)." },
      { name: 'HOSTPLANE_AGENT_RELAY_DRIVER', value: 'postfix-maps', help: 'hostplane agent, relay role: postfix-maps (map files) or http (--relay-driver).' },
      { name: 'HOSTPLANE_AGENT_RELAY_DIR', value: '/var/lib/hostplane-agent/relay', example: true, help: 'Relay role: where relay_domains and transport are written (--relay-dir). Default: <agent data dir>/relay.' },
      { name: 'HOSTPLANE_AGENT_RELAY_RELOAD_COMMAND', value: 'postmap relay_domains && postmap transport && postfix reload', example: true, help: 'Relay role, postfix-maps: run in the relay dir once per applied batch (--relay-reload-command).' },
      { name: 'HOSTPLANE_AGENT_RELAY_HTTP_URL', value: 'https://relay-api.example.com/changes', example: true, help: 'Relay role, http driver: every change is POSTed here (--relay-http-url; required with http).' },
      { name: 'HOSTPLANE_AGENT_RELAY_HTTP_TIMEOUT_MS', value: '10000', help: 'Relay role, http driver: time limit of one request.' },
      { name: 'HOSTPLANE_AGENT_POLL_WAIT_SECONDS', value: '30', help: 'hostplane agent: how long one long-poll for changes waits (at most 60).' },
      { name: 'HOSTPLANE_AGENT_BACKOFF_MAX_SECONDS', value: '30', help: 'hostplane agent: longest wait between tries while the control plane cannot be reached.' },
      { name: 'HOSTPLANE_AGENT_RETRY_MAX_SECONDS', value: '300', help: 'hostplane agent: longest wait before an object that failed to apply is tried again.' },
    ],
  },
  {
    title: 'The hostplane CLI as a client of a running server',
    settings: [
      { name: 'HOSTPLANE_URL', value: 'http://127.0.0.1:8080', help: 'The server admin commands talk to.' },
      { name: 'HOSTPLANE_API_KEY', value: '<an operator key>', example: true, help: 'Operator key for admin commands. Default: the one in <data dir>/operator-key.' },
    ],
  },
];

/** Every name the file may set: the server's variables and the CLI's client settings. */
export const CONFIG_FILE_VARIABLES: readonly string[] = [...CONFIG_VARIABLES, ...AGENT_VARIABLES, ...CLIENT_VARIABLES];

/** The settings the template documents, by name (a test keeps this equal to CONFIG_FILE_VARIABLES). */
export const DOCUMENTED_VARIABLES: readonly string[] = SECTIONS.flatMap((s) => s.settings.map((x) => x.name));

/**
 * The file `hostplane init` writes: every setting with its default (or an example) commented out and
 * one line saying what it does; `set` values are written active.
 */
export function renderConfigFile(set: Record<string, string>, writtenAt: Date): string {
  const lines = [
    `# Hostplane configuration, written by \`hostplane init\` on ${writtenAt.toISOString().slice(0, 10)}.`,
    '#',
    '# Every hostplane command (serve, worker, db migrate, doctor, and the admin commands) reads this file',
    `# when given --config <file> or HOSTPLANE_CONFIG=<file>, or finds it as ./${DEFAULT_CONFIG_FILE} in the directory`,
    '# it runs in. A variable set in the environment wins over the file.',
    '#',
    '# One NAME=value per line, no quotes needed (the rest of the line is the value); remove the leading #',
    '# of a line to set it. Commented lines show the default, or an example where there is none. Relative',
    '# paths are taken from the directory the command runs in. The file also works as a systemd',
    '# EnvironmentFile= or a docker --env-file. It may hold secrets: keep it readable by its owner only.',
  ];
  const written = new Set<string>();
  for (const section of SECTIONS) {
    lines.push('', `## ${section.title}`);
    for (const s of section.settings) {
      lines.push(`# ${s.help}`);
      if (set[s.name] !== undefined) {
        lines.push(`${s.name}=${set[s.name]}`);
        written.add(s.name);
      } else lines.push(`#${s.name}=${s.value}`);
    }
  }
  for (const [name, value] of Object.entries(set)) if (!written.has(name)) lines.push(`${name}=${value}`);
  return lines.join('\n') + '\n';
}

/**
 * NAME=value lines; blank lines and lines starting with # are skipped; `export ` before a name is
 * allowed (shell style); a value wholly in single or double quotes loses them. Anything else, or a
 * name Hostplane does not read (a typo would otherwise be ignored in silence), is an error naming the line.
 */
export function parseConfigFile(text: string, file: string): Record<string, string> {
  const known = new Set(CONFIG_FILE_VARIABLES);
  const out: Record<string, string> = {};
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (!m) return void problems.push(`line ${i + 1}: expected NAME=value`);
    const name = m[1]!;
    let value = m[2]!.trim();
    if (!known.has(name)) return void problems.push(`line ${i + 1}: ${name} is not a Hostplane setting`);
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    out[name] = value;
  });
  if (problems.length) throw new ConfigFileError(`${file}: ${problems.join('; ')}`);
  return out;
}

/**
 * Which file a command reads: --config, else HOSTPLANE_CONFIG, else ./hostplane.env when it exists.
 * A file that was named must exist; the default one is optional.
 */
export function configFileFor(option: string | undefined, env: NodeJS.ProcessEnv, cwd = process.cwd()): { file: string; named: boolean } | undefined {
  const named = option ?? (env.HOSTPLANE_CONFIG || undefined);
  if (named !== undefined) return { file: path.resolve(cwd, named), named: true };
  const fallback = path.resolve(cwd, DEFAULT_CONFIG_FILE);
  return fs.existsSync(fallback) ? { file: fallback, named: false } : undefined;
}

/** Fills in `env` (in place) the variables the file sets and the environment does not (empty counts as unset, as in loadConfig). */
export function applyConfigFile(env: NodeJS.ProcessEnv, file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigFileError(`cannot read the config file ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  for (const [name, value] of Object.entries(parseConfigFile(text, file))) {
    if (env[name] === undefined || env[name] === '') env[name] = value;
  }
}
