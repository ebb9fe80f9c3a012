import { Command, CommanderError } from 'commander';
import { isDatabaseUnavailable } from '../../errors/db-unavailable.js';
import { CliError, exitCodeFor, formatError } from './cli.errors.js';
import { agentCommands } from './commands/agent.commands.js';
import { catalogCommands } from './commands/catalog.commands.js';
import { databaseCommands } from './commands/database.commands.js';
import { doctorCommands } from './commands/doctor.commands.js';
import { initCommands } from './commands/init.commands.js';
import { jobsCommands } from './commands/jobs.commands.js';
import { nodeCommands } from './commands/node.commands.js';
import { operationsCommands } from './commands/operations.commands.js';
import { resellerCommands } from './commands/reseller.commands.js';
import { subscriptionCommands } from './commands/subscription.commands.js';
import { cliContext, withJson, type IdempotencyOption, type JsonOption } from './options.js';
import { json } from './output.js';
import { VERSION } from '../../version.js';

async function serverConfig(env: NodeJS.ProcessEnv) {
  const { ConfigError, loadConfig } = await import('../../config/config.js');
  try {
    return loadConfig(env);
  } catch (e) {
    throw e instanceof ConfigError ? new CliError('config', e.message) : e;
  }
}

/**
 * `serve`, `worker`, `db migrate` and `secrets rotate` run in-process through the composition root; every other command is an
 * HTTP client of a running server's operator admin API, so it works against a remote server too.
 * Returns the exit code, or undefined for a command that keeps running (serve).
 */
export async function runCli(argv: string[], callerEnv: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  // A copy: the config file fills in what the environment leaves unset, without touching the caller's.
  const env: NodeJS.ProcessEnv = { ...callerEnv };
  let configFile: string | undefined;
  const program = new Command('hostplane');
  // Set before any subcommand exists: commander copies these settings into each one as it is created.
  program
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'hostplane: ')) })
    .showSuggestionAfterError()
    .version(VERSION)
    .description('Hostplane control plane: run the server, or manage it through its operator admin API')
    .option('--config <file>', 'read settings from this file (default: HOSTPLANE_CONFIG, or ./hostplane.env when it exists); the environment wins over it')
    .addHelpText(
      'after',
      `
Admin commands talk to the server at HOSTPLANE_URL (default http://127.0.0.1:8080) with the operator
key in HOSTPLANE_API_KEY, or else the one in <HOSTPLANE_DATA_DIR or ./data>/operator-key.
Settings come from the environment, then from the config file (\`hostplane init\` writes one).
Add --json to any of them for the API's JSON response, and --idempotency-key <key> to a command that
changes something so that repeating it with the same key (say, after a timeout) does not change it twice.

Exit codes: 0 ok, 1 other failure, 2 usage error, 3 unauthenticated or forbidden, 4 not found,
5 validation failed, 6 conflict or invalid state, 7 server unreachable (or its database: retry later).`,
    );
  let code: number | undefined = 0;

  program
    .command('serve')
    .description('run the HTTP server and, unless HOSTPLANE_WORKER=off, the job workers (migrates the database first)')
    .option('--with-agent', 'also run a hosting agent in this process (node "local", role web), as HOSTPLANE_WITH_AGENT=1 does')
    .action(async (opts: { withAgent?: boolean }) => {
      if (opts.withAgent) env.HOSTPLANE_WITH_AGENT = '1';
      const { startServer } = await import('../../serve.js');
      await startServer(await serverConfig(env));
      code = undefined;
    });

  program
    .command('worker')
    .description('run only the job workers (domain provisioning, cleanup), so API and workers can scale apart')
    .action(async () => {
      const { startWorker } = await import('../../serve.js');
      await startWorker(await serverConfig(env));
      code = undefined;
    });

  const dbCommand = program.command('db').description('database maintenance');
  withJson(dbCommand.command('migrate'))
    .description('apply pending migrations (a no-op when there are none)')
    .action(async (opts: JsonOption) => {
      const { runMigrations } = await import('../../database-commands.js');
      const applied = await runMigrations(await serverConfig(env));
      process.stdout.write(opts.json ? json({ applied }) : applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    });

  databaseCommands(dbCommand, env, () => serverConfig(env));

  withJson(program.command('secrets').description('secrets kept sealed in the database under the master key').command('rotate'))
    .description('seal every stored secret under a new master key in one transaction (works on the database directly: it needs the key file or HOSTPLANE_MASTER_KEY)')
    .action(async (opts: JsonOption) => {
      const { rotateSecrets } = await import('../../database-commands.js');
      const r = await rotateSecrets(await serverConfig(env));
      if (opts.json) return void process.stdout.write(json(r));
      const lines = [`resealed ${r.resealed} secret(s) under master key ${r.key_id}${r.previous_key_id && r.previous_key_id !== r.key_id ? ` (was ${r.previous_key_id})` : ''}`];
      if (r.retired_key_file) lines.push(`previous key(s) moved to ${r.retired_key_file}: keep it only to read database backups taken before now`);
      if (r.unused_key_ids?.length) lines.push(`no longer needed in HOSTPLANE_MASTER_KEY: ${r.unused_key_ids.join(', ')}`);
      process.stdout.write(lines.join('\n') + '\n');
    });

  const configOption = () => (program.opts() as { config?: string }).config;
  program.hook('preAction', async (_program, command) => {
    if (command.name() === 'init') return; // it writes the file: an existing one, even a broken one, is not read
    const { ConfigFileError, applyConfigFile, configFileFor } = await import('../../config/config-file.js');
    const found = configFileFor(configOption(), env);
    if (!found) return;
    try {
      applyConfigFile(env, found.file);
    } catch (e) {
      throw e instanceof ConfigFileError ? new CliError('config', e.message) : e;
    }
    configFile = found.file;
  });
  initCommands(program, configOption, env);
  doctorCommands(program, env, () => configFile, (c) => (code = c));
  agentCommands(program, env, () => (code = undefined));

  const ctx = cliContext(env);
  program.hook('preAction', (_program, command) => {
    const key = (command.opts() as IdempotencyOption).idempotencyKey;
    if (key !== undefined) ctx.idempotencyKey = key;
  });
  resellerCommands(program, ctx);
  catalogCommands(program, ctx);
  operationsCommands(program, ctx);
  jobsCommands(program, ctx);
  subscriptionCommands(program, ctx);
  nodeCommands(program, ctx);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    // Commander has already printed its message; exit code 0 means --help or --version.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : exitCodeFor('usage');
    const failure = e instanceof CliError ? e : inProcessFailure(e);
    process.stderr.write(formatError(failure.message, failure.fields));
    return exitCodeFor(failure.kind);
  }
  return code;
}

/**
 * A failure of an in-process command (serve, worker, db migrate|backup|restore). A database that cannot be reached,
 * or an embedded one another process holds, is "unavailable" (exit 7, like a server that cannot be
 * reached): a script may retry it, unlike a broken migration.
 */
function inProcessFailure(e: unknown): CliError {
  const message = e instanceof Error ? e.message : String(e);
  if ((e as { code?: unknown } | null)?.code === 'HP_DATA_DIR_IN_USE') return new CliError('unavailable', message);
  // A backup or restore refused as asked (bad file, non-empty target): its own kind, so its own exit code.
  if ((e as { code?: unknown } | null)?.code === 'HP_BACKUP') return new CliError((e as { kind: string }).kind, message);
  if (isDatabaseUnavailable(e)) return new CliError('unavailable', `cannot reach the database (${message || (e as { code?: string }).code || 'no answer'}); is it running? Check DATABASE_URL`);
  return new CliError('internal', message);
}
