import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../../config/config.js';
import { AdminClient } from '../admin-client.js';
import { withJson, type JsonOption } from '../options.js';
import { json } from '../output.js';

interface RestoreOptions extends JsonOption {
  force?: boolean;
}

const size = (bytes: number) => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`);

/**
 * `hostplane db backup|restore` (ADR 0026). Both work on the database directly, like `db migrate`:
 * pg_dump/pg_restore with DATABASE_URL, or the embedded data dir. The one exception is a backup of an
 * embedded data dir a running server holds: only that process may open it, so the copy comes from it,
 * through the admin API (HOSTPLANE_URL and the operator key, as for every admin command).
 */
export function databaseCommands(db: Command, env: NodeJS.ProcessEnv, serverConfig: () => Promise<Config>): void {
  withJson(db.command('backup'))
    .argument('<file>', 'where to write the backup (mode 0600; replaced whole if it exists)')
    .description('back up the database: pg_dump custom format with DATABASE_URL, else a copy of the embedded data dir (from the running server when one holds it)')
    .action(async (fileArg: string, opts: JsonOption) => {
      const file = path.resolve(fileArg);
      const { backupDatabase, saveBackup } = await import('../../../database-commands.js');
      let result;
      let via: string | undefined;
      try {
        result = await backupDatabase(await serverConfig(), file);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'HP_DATA_DIR_IN_USE') throw e;
        const api = AdminClient.fromEnv(env);
        const copy = await api.post<{ format: string; data: string }>('database/backup');
        result = saveBackup(file, Buffer.from(copy.data, 'base64'));
        via = 'the running server';
      }
      if (opts.json) return void process.stdout.write(json(via ? { ...result, via: 'server' } : result));
      const kind = result.format === 'pg_dump' ? 'PostgreSQL backup (pg_dump custom format)' : `embedded database backup${via ? `, taken by ${via}` : ''}`;
      process.stdout.write(`wrote ${file}: ${kind}, ${size(result.bytes)}\n`);
    });

  withJson(db.command('restore'))
    .argument('<file>', 'a file written by `hostplane db backup`')
    .description('restore a backup into an empty PostgreSQL database (DATABASE_URL) or a new embedded data dir, then migrate it and make the hosting nodes and relay maps follow it; stop every server first')
    .option('--force', 'replace the database the target already holds')
    .action(async (fileArg: string, opts: RestoreOptions) => {
      const file = path.resolve(fileArg);
      const { restoreDatabase } = await import('../../../database-commands.js');
      const r = await restoreDatabase(await serverConfig(), file, { force: Boolean(opts.force) });
      if (opts.json) return void process.stdout.write(json(r));
      const lines = [`restored ${file} (${r.format === 'pg_dump' ? 'PostgreSQL' : 'embedded database'})`];
      if (r.migrated.length) lines.push(`applied migrations: ${r.migrated.join(', ')}`);
      lines.push(`hosting nodes resent their whole state: ${r.rebuild.nodes}; relay domains queued: ${r.rebuild.relay_domains}`);
      if (r.missing_master_key) lines.push(`the restored secrets are sealed under master key ${r.missing_master_key}: put that key in place (its key file, or HOSTPLANE_MASTER_KEY) before starting the server`);
      process.stdout.write(lines.join('\n') + '\n');
    });

  withJson(db.command('rebuild-after-restore'))
    .description('after the database was brought back by other means (pgBackRest point-in-time recovery): migrate it, send every hosting node its whole state and rewrite the relay maps; stop every server first')
    .action(async (opts: JsonOption) => {
      const { rebuildAfterDatabaseRestore } = await import('../../../database-commands.js');
      const r = await rebuildAfterDatabaseRestore(await serverConfig());
      if (opts.json) return void process.stdout.write(json(r));
      const lines = r.migrated.length ? [`applied migrations: ${r.migrated.join(', ')}`] : [];
      lines.push(`hosting nodes resent their whole state: ${r.rebuild.nodes}; relay domains queued: ${r.rebuild.relay_domains}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
