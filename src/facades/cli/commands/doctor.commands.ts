import type { Command } from 'commander';
import { withJson, type JsonOption } from '../options.js';
import { json } from '../output.js';

const MARK: Record<string, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' };

/**
 * `hostplane doctor`: one line per check (or --json), exit 1 when any check fails. Works on the
 * database directly, like `db migrate`, so it answers when the server is down.
 */
export function doctorCommands(program: Command, env: NodeJS.ProcessEnv, configFile: () => string | undefined, setCode: (code: number) => void): void {
  withJson(program.command('doctor'))
    .description('check the database (connection, migrations, version), relay directory, nodes, clock and file permissions')
    .action(async (opts: JsonOption) => {
      const { ConfigError, loadConfig } = await import('../../../config/config.js');
      const { reportOf, runDoctor } = await import('../../../doctor/doctor.js');
      let report;
      try {
        const config = loadConfig(env);
        report = await runDoctor(config, { configFile: configFile(), tlsKeyFile: env.HOSTPLANE_TLS_KEY || undefined });
        const source = configFile();
        report.checks.unshift({ check: 'config', status: 'ok', message: source ? `environment and ${source}` : 'environment only (no config file)' });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        // Nothing else can be checked without a configuration that loads.
        report = reportOf([
          { check: 'config', status: 'fail', message: e.problems.join('; ') },
          ...['database', 'migrations', 'clock', 'relay', 'nodes', 'permissions'].map((check) => ({ check, status: 'skip' as const, message: 'the configuration does not load' })),
        ]);
      }
      if (opts.json) process.stdout.write(json(report));
      else {
        const width = Math.max(...report.checks.map((c) => c.check.length));
        const lines = report.checks.map((c) => `${MARK[c.status]}  ${c.check.padEnd(width)}  ${c.message}`);
        const failed = report.checks.filter((c) => c.status === 'fail').length;
        const warned = report.checks.filter((c) => c.status === 'warn').length;
        lines.push(`hostplane ${report.version}: ${failed ? `${failed} check(s) failed` : 'no check failed'}${warned ? `, ${warned} warning(s)` : ''}`);
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (!report.ok) setCode(1);
    });
}
