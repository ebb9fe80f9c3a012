import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../../config/config.js';
import { runMigrations, startServer, VERSION } from '../../app.js';

/** Returns the exit code, or undefined for a command that keeps running (serve). */
export async function runCli(argv: string[]): Promise<number | undefined> {
  const program = new Command('hostplane').version(VERSION).exitOverride();
  let code: number | undefined = 0;

  program
    .command('serve')
    .description('run the HTTP server (migrates the database first)')
    .action(async () => {
      await startServer(loadConfig());
      code = undefined;
    });

  program
    .command('db')
    .description('database maintenance')
    .command('migrate')
    .description('apply pending migrations (a no-op when there are none)')
    .action(async () => {
      const applied = await runMigrations(loadConfig());
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      process.stderr.write(`hostplane: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  return code;
}
