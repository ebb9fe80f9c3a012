import type { Command } from 'commander';
import type { z } from 'zod';
import type * as s from '../../admin-rest/admin.schemas.js';
import { CliError } from '../cli.errors.js';
import { collect, given, idArgument, withIdempotencyKey, withJson, type CliContext, type JsonOption } from '../options.js';
import { record, table, type Column } from '../output.js';

export type AdminReseller = z.infer<typeof s.adminReseller>;
export type AdminResellerWithCredentials = z.infer<typeof s.adminResellerWithCredentials>;

const columns: Column<AdminReseller>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'STATUS', value: (r) => r.status },
  { header: 'USERNAME', value: (r) => r.username },
  { header: 'NAME', value: (r) => r.name },
  { header: 'EMAIL', value: (r) => r.email_address },
  { header: 'TAGS', value: (r) => r.tags },
  { header: 'LOGIN HOSTNAME', value: (r) => r.login_hostname },
];

/** Credentials are returned only on create, approve and rotate; the reminder is part of the human form. */
export function withCredentialsText(r: AdminResellerWithCredentials): string {
  return `${record(r)}\nThe API key is shown only this once; store it now (token = Basic-auth user, key = password).\n`;
}

export function resellerCommands(program: Command, ctx: CliContext): void {
  const reseller = program.command('reseller').description('manage resellers (the operator\'s customers)');

  withJson(reseller.command('list'))
    .description('list resellers')
    .option('--status <status>', 'only pending, active or suspended resellers')
    .action(async (opts: JsonOption & { status?: string }) => {
      const rows = await ctx.api().get<AdminReseller[]>('resellers', { status: opts.status });
      ctx.emit(opts, rows, () => table(rows, columns, 'no resellers'));
    });

  withIdempotencyKey(withJson(reseller.command('create')))
    .description('create an approved reseller and print its API token and key')
    .requiredOption('--name <name>', 'company or display name')
    .requiredOption('--username <username>', 'login name, 3-64 letters, digits, dots, dashes or underscores')
    .requiredOption('--email <address>', 'contact email address')
    .option('--tag <tag>', 'package tag the reseller may sell (repeatable)', collect)
    .option('--login-hostname <host>', 'host name of the reseller\'s branded login page')
    .action(async (opts: JsonOption & { name: string; username: string; email: string; tag?: string[]; loginHostname?: string }) => {
      const body = given({ name: opts.name, username: opts.username, email_address: opts.email, tags: opts.tag, login_hostname: opts.loginHostname });
      const created = await ctx.api().post<AdminResellerWithCredentials>('resellers', body);
      ctx.emit(opts, created, () => withCredentialsText(created));
    });

  withIdempotencyKey(withJson(reseller.command('approve')))
    .description('approve a pending sign-up and print its API token and key')
    .addArgument(idArgument('id', 'reseller id'))
    .option('--password <password>', "also set the reseller's web console password (at least 10 characters)")
    .option('--login <login>', 'web console login (default: the reseller\'s username); needs --password')
    .action(async (id: number, opts: JsonOption & { login?: string; password?: string }) => {
      const approved = await ctx.api().post<AdminResellerWithCredentials>(`resellers/${id}/approve`, given({ login: opts.login, password: opts.password }));
      ctx.emit(opts, approved, () => withCredentialsText(approved));
    });

  withJson(reseller.command('set-login'))
    .description("set or reset an approved reseller's web console login and password")
    .addArgument(idArgument('id', 'reseller id'))
    .requiredOption('--login <login>', 'web console login')
    .requiredOption('--password <password>', 'at least 10 characters')
    .action(async (id: number, opts: JsonOption & { login: string; password: string }) => {
      const set = await ctx.api().put<{ user_id: number; login: string }>(`resellers/${id}/login`, { login: opts.login, password: opts.password });
      ctx.emit(opts, set, () => `reseller ${id} signs in to the console as ${set.login}\n`);
    });

  withIdempotencyKey(withJson(reseller.command('rotate-key')))
    .description('issue a new API token and key; the old pair stops working at once')
    .addArgument(idArgument('id', 'reseller id'))
    .action(async (id: number, opts: JsonOption) => {
      const rotated = await ctx.api().post<AdminResellerWithCredentials>(`resellers/${id}/rotate-key`);
      ctx.emit(opts, rotated, () => withCredentialsText(rotated));
    });

  withIdempotencyKey(withJson(reseller.command('suspend')))
    .description('suspend a reseller: its API credentials stop working until activated')
    .addArgument(idArgument('id', 'reseller id'))
    .option('--reason <text>', 'why, kept with the reseller')
    .action(async (id: number, opts: JsonOption & { reason?: string }) => {
      const suspended = await ctx.api().post<AdminReseller>(`resellers/${id}/suspend`, given({ reason: opts.reason }));
      ctx.emit(opts, suspended, () => record(suspended));
    });

  withIdempotencyKey(withJson(reseller.command('activate')))
    .description('lift a suspension')
    .addArgument(idArgument('id', 'reseller id'))
    .action(async (id: number, opts: JsonOption) => {
      const activated = await ctx.api().post<AdminReseller>(`resellers/${id}/activate`);
      ctx.emit(opts, activated, () => record(activated));
    });

  withIdempotencyKey(withJson(reseller.command('update')))
    .description('change a reseller\'s name, tags or login host name (only the options given)')
    .addArgument(idArgument('id', 'reseller id'))
    .option('--name <name>', 'new company or display name')
    .option('--login-hostname <host>', 'host name of the reseller\'s branded login page')
    .option('--no-login-hostname', 'remove the branded login host name')
    .option('--tag <tag>', 'package tag (repeatable; the given tags replace the current ones)', collect)
    .action(async (id: number, opts: JsonOption & { name?: string; loginHostname?: string | false; tag?: string[] }) => {
      const body = given({ name: opts.name, tags: opts.tag, login_hostname: opts.loginHostname === false ? null : opts.loginHostname });
      if (Object.keys(body).length === 0) throw CliError.usage('nothing to update: give --name, --login-hostname, --no-login-hostname or --tag');
      const updated = await ctx.api().patch<AdminReseller>(`resellers/${id}`, body);
      ctx.emit(opts, updated, () => record(updated));
    });
}
