import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { pino } from 'pino';
import { CliError } from '../cli.errors.js';

interface AgentCliOptions {
  url?: string;
  token?: string;
  dataDir?: string;
  nginxPrefix?: string;
  httpPort?: number;
  webDriver?: 'nginx' | 'files';
  mariadbUrl?: string;
  pgUrl?: string;
  pgCopyStrategy?: 'auto' | 'file_copy' | 'wal_log';
  relayDriver?: 'postfix-maps' | 'http';
  relayDir?: string;
  relayReloadCommand?: string;
  relayHttpUrl?: string;
}

/** A database admin URL of the given schemes, or a usage error naming the flag (never echoing the URL: it may hold a password). */
function dbUrl(raw: string | undefined, flag: string, schemes: string[]): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError('usage', `${flag}: not a URL; use ${schemes[0]}://user:password@host:port`);
  }
  if (!schemes.includes(u.protocol.slice(0, -1))) throw new CliError('usage', `${flag}: must start with ${schemes.map((x) => `${x}://`).join(' or ')}`);
  return raw;
}

function port(raw: string): number {
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a port number (1-65535)');
  return n;
}

function seconds(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(raw) || n < min || n > max) throw new CliError('config', `${name}: must be a number of seconds from ${min} to ${max}`);
  return n;
}

/** The relay role's settings from flags or HOSTPLANE_AGENT_RELAY_* (the server's HOSTPLANE_RELAY_* with AGENT_ in the name). */
function relaySettings(opts: AgentCliOptions, env: NodeJS.ProcessEnv, dataDir: string) {
  const driver = opts.relayDriver ?? (env.HOSTPLANE_AGENT_RELAY_DRIVER || 'postfix-maps');
  if (driver !== 'postfix-maps' && driver !== 'http') throw new CliError('config', 'HOSTPLANE_AGENT_RELAY_DRIVER: must be postfix-maps or http');
  const httpUrl = opts.relayHttpUrl ?? (env.HOSTPLANE_AGENT_RELAY_HTTP_URL || undefined);
  if (httpUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(httpUrl)) throw new CliError('config', 'HOSTPLANE_AGENT_RELAY_HTTP_URL (--relay-http-url): must be an http(s) URL');
  if (driver === 'http' && httpUrl === undefined) throw new CliError('config', 'HOSTPLANE_AGENT_RELAY_HTTP_URL (--relay-http-url): is required with the http relay driver');
  const timeout = env.HOSTPLANE_AGENT_RELAY_HTTP_TIMEOUT_MS;
  if (timeout !== undefined && timeout !== '' && (!/^[0-9]+$/.test(timeout) || Number(timeout) < 100 || Number(timeout) > 300_000)) throw new CliError('config', 'HOSTPLANE_AGENT_RELAY_HTTP_TIMEOUT_MS: must be a number of milliseconds from 100 to 300000');
  const reloadCommand = opts.relayReloadCommand ?? (env.HOSTPLANE_AGENT_RELAY_RELOAD_COMMAND || undefined);
  if (reloadCommand !== undefined && reloadCommand.length > 2000) throw new CliError('config', 'HOSTPLANE_AGENT_RELAY_RELOAD_COMMAND: at most 2000 characters');
  return {
    driver,
    relayDir: path.resolve(opts.relayDir ?? (env.HOSTPLANE_AGENT_RELAY_DIR || path.join(dataDir, 'relay'))),
    reloadCommand,
    httpUrl,
    ...(timeout ? { httpTimeoutMs: Number(timeout) } : {}),
  } as const;
}

/**
 * `hostplane agent`: runs on a hosting node and makes the control plane's desired state for it true.
 * Talks only to the control plane's /agent/v1 door; runs until SIGTERM or SIGINT.
 */
export function agentCommands(program: Command, env: NodeJS.ProcessEnv, keepRunning: () => void): void {
  program
    .command('agent')
    .description("run a hosting node's agent: enrol with the control plane, then pull this node's desired state and apply it")
    .addOption(new Option('--url <url>', 'the control plane (env HOSTPLANE_AGENT_URL)'))
    .addOption(new Option('--token <token>', 'the one-time enrolment token `hostplane node create` printed; needed once (env HOSTPLANE_AGENT_TOKEN)'))
    .addOption(new Option('--data-dir <dir>', 'where the agent keeps its credentials, state, sites and archives (env HOSTPLANE_AGENT_DATA_DIR)'))
    .addOption(new Option('--nginx-prefix <dir>', "the web role's nginx prefix (env HOSTPLANE_AGENT_NGINX_PREFIX; default <data dir>/nginx)"))
    .addOption(new Option('--http-port <port>', 'the port nginx serves sites on (env HOSTPLANE_AGENT_HTTP_PORT; default 80)').argParser(port))
    .addOption(new Option('--web-driver <driver>', 'nginx serves sites; files only records them (env HOSTPLANE_AGENT_WEB_DRIVER)').choices(['nginx', 'files']))
    .addOption(new Option('--mariadb-url <url>', "db role: the MariaDB server's admin connection, mysql://user:password@host:port (env HOSTPLANE_AGENT_MARIADB_URL; ?socket=<path> for a Unix socket)"))
    .addOption(new Option('--pg-url <url>', "db role: the PostgreSQL server's admin connection, postgres://user:password@host:port/postgres (env HOSTPLANE_AGENT_PG_URL)"))
    .addOption(
      new Option('--pg-copy-strategy <strategy>', "db role: how a SaaS database is copied from its template: file_copy, wal_log, or auto (file_copy for templates of 32 MB or more) (env HOSTPLANE_AGENT_PG_COPY_STRATEGY; default auto)").choices(['auto', 'file_copy', 'wal_log']),
    )
    .addOption(new Option('--relay-driver <driver>', 'relay role: postfix-maps writes map files, http POSTs each change (env HOSTPLANE_AGENT_RELAY_DRIVER; default postfix-maps)').choices(['postfix-maps', 'http']))
    .addOption(new Option('--relay-dir <dir>', 'relay role: where relay_domains and transport are written (env HOSTPLANE_AGENT_RELAY_DIR; default <data dir>/relay)'))
    .addOption(new Option('--relay-reload-command <command>', 'relay role: run with /bin/sh in the relay dir after each batch, e.g. postmap + postfix reload (env HOSTPLANE_AGENT_RELAY_RELOAD_COMMAND)'))
    .addOption(new Option('--relay-http-url <url>', 'relay role, http driver: every change is POSTed here (env HOSTPLANE_AGENT_RELAY_HTTP_URL)'))
    .addHelpText(
      'after',
      `
The node's token is saved in <data dir>/credentials.json (mode 0600) on first start; later starts use
it, so --token may stay in a unit file. A new enrolment token (after \`hostplane node rotate-token\`)
is exchanged on the next start. Deleted sites are archived to <data dir>/archives/, and so are dumps
of dropped databases (db role: SaaS databases are dumped with pg_dump -Fc). Database admin URLs stay on
the node; prefer the environment variables to the flags, which other users of the machine can read in
the process list.`,
    )
    .action(async (opts: AgentCliOptions) => {
      const { Agent } = await import('../../../agent/agent.js');
      const { createDrivers } = await import('../../../agent/drivers/create-drivers.js');
      const { VERSION } = await import('../../../version.js');
      const url = opts.url ?? (env.HOSTPLANE_AGENT_URL || undefined);
      const dataDirRaw = opts.dataDir ?? (env.HOSTPLANE_AGENT_DATA_DIR || undefined);
      if (!url) throw new CliError('usage', 'the control plane URL is required: --url <url> or HOSTPLANE_AGENT_URL');
      if (!/^https?:\/\/[^\s/]+/.test(url)) throw new CliError('usage', '--url must be an http(s) URL such as https://panel.example.com');
      if (!dataDirRaw) throw new CliError('usage', 'a data directory is required: --data-dir <dir> or HOSTPLANE_AGENT_DATA_DIR');
      const dataDir = path.resolve(dataDirRaw);
      let httpPort = opts.httpPort;
      if (httpPort === undefined && env.HOSTPLANE_AGENT_HTTP_PORT) {
        try {
          httpPort = port(env.HOSTPLANE_AGENT_HTTP_PORT);
        } catch {
          throw new CliError('config', 'HOSTPLANE_AGENT_HTTP_PORT: must be a port number (1-65535)');
        }
      }
      const webDriver = opts.webDriver ?? (env.HOSTPLANE_AGENT_WEB_DRIVER || 'nginx');
      if (webDriver !== 'nginx' && webDriver !== 'files') throw new CliError('config', 'HOSTPLANE_AGENT_WEB_DRIVER: must be nginx or files');
      const mariadbUrl = dbUrl(opts.mariadbUrl ?? env.HOSTPLANE_AGENT_MARIADB_URL, opts.mariadbUrl ? '--mariadb-url' : 'HOSTPLANE_AGENT_MARIADB_URL', ['mysql', 'mariadb']);
      const pgUrl = dbUrl(opts.pgUrl ?? env.HOSTPLANE_AGENT_PG_URL, opts.pgUrl ? '--pg-url' : 'HOSTPLANE_AGENT_PG_URL', ['postgres', 'postgresql']);
      const pgCopyStrategy = opts.pgCopyStrategy ?? (env.HOSTPLANE_AGENT_PG_COPY_STRATEGY || 'auto');
      if (pgCopyStrategy !== 'auto' && pgCopyStrategy !== 'file_copy' && pgCopyStrategy !== 'wal_log') throw new CliError('config', 'HOSTPLANE_AGENT_PG_COPY_STRATEGY: must be auto, file_copy or wal_log');
      const relay = relaySettings(opts, env, dataDir);
      const pollWait = seconds(env, 'HOSTPLANE_AGENT_POLL_WAIT_SECONDS', 0, 60);
      const backoffMax = seconds(env, 'HOSTPLANE_AGENT_BACKOFF_MAX_SECONDS', 0.1, 3600);
      const retryMax = seconds(env, 'HOSTPLANE_AGENT_RETRY_MAX_SECONDS', 0.1, 86_400);

      const log = pino({ level: env.HOSTPLANE_LOG_LEVEL || 'info', base: { agent: path.basename(dataDir) }, redact: { paths: ['token', '*.token', 'pgUrl', '*.pgUrl', 'mariadbUrl', '*.mariadbUrl'], censor: '[redacted]' } });
      const nginxPrefix = path.resolve(opts.nginxPrefix ?? (env.HOSTPLANE_AGENT_NGINX_PREFIX || path.join(dataDir, 'nginx')));
      const agent = new Agent({
        url,
        token: opts.token ?? (env.HOSTPLANE_AGENT_TOKEN || undefined),
        dataDir,
        agentVersion: VERSION,
        log,
        drivers: (node) =>
          createDrivers(node.roles, {
            dataDir,
            nginxPrefix,
            httpPort: httpPort ?? 80,
            webDriver,
            ...(env.HOSTPLANE_AGENT_NGINX_BIN ? { nginxBin: env.HOSTPLANE_AGENT_NGINX_BIN } : {}),
            ...(env.HOSTPLANE_AGENT_PHP_FPM_BIN ? { phpFpmBin: env.HOSTPLANE_AGENT_PHP_FPM_BIN } : {}),
            mariadbUrl,
            pgUrl,
            pgCopyStrategy,
            fetchInstanceFile: (id) => node.client.instanceFile(id),
            relay,
            log,
          }),
        ...(pollWait !== undefined ? { pollWaitSeconds: Math.round(pollWait) } : {}),
        ...(backoffMax !== undefined ? { backoff: { baseMs: Math.min(1000, backoffMax * 1000), maxMs: backoffMax * 1000 } } : {}),
        ...(retryMax !== undefined ? { retry: { baseMs: Math.min(2000, retryMax * 1000), maxMs: retryMax * 1000 } } : {}),
      });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'agent stopping; what was applied keeps being served');
        const force = setTimeout(() => process.exit(1), 10_000);
        force.unref();
        agent.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      try {
        await agent.start();
      } catch (e) {
        const { CredentialsError } = await import('../../../agent/credentials.js');
        if (e instanceof CredentialsError) throw new CliError(e.message.includes('refused') ? 'unauthenticated' : 'usage', e.message);
        throw e;
      }
      keepRunning();
    });
}
