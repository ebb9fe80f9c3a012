import type { Command } from 'commander';
import type { z } from 'zod';
import type * as s from '../../admin-rest/admin.schemas.js';
import { segment } from '../admin-client.js';
import { idArgument, integer, positiveId, withIdempotencyKey, withJson, type CliContext, type JsonOption } from '../options.js';
import { record, table, text, type Column } from '../output.js';
import { withCredentialsText, type AdminResellerWithCredentials } from './reseller.commands.js';

type AdminClientRecord = z.infer<typeof s.adminClient>;
type AdminDomain = z.infer<typeof s.adminDomain>;

const domainText = (d: AdminDomain) => `${d.name} [${d.status}]${d.mail_servers.length ? ` mail: ${d.mail_servers.join(' ')}` : ''}`;

const clientColumns: Column<AdminClientRecord>[] = [
  { header: 'ID', value: (c) => c.id },
  { header: 'RESELLER', value: (c) => c.reseller_id },
  { header: 'STATUS', value: (c) => c.status },
  { header: 'PACKAGE', value: (c) => c.package_uid },
  { header: 'USERS', value: (c) => c.user_count },
  { header: 'NAME', value: (c) => c.name },
  { header: 'EMAIL', value: (c) => c.email_address },
  { header: 'DOMAINS', value: (c) => c.domains.map((d) => d.name) },
];

interface OperatorKeyRecord {
  id: number;
  name: string;
  created_at: string;
  revoked_at: string | null;
}

const keyColumns: Column<OperatorKeyRecord>[] = [
  { header: 'ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name },
  { header: 'CREATED', value: (k) => k.created_at },
  { header: 'REVOKED', value: (k) => k.revoked_at },
];

const clientText = (c: AdminClientRecord) => record(c, { domains: (v) => text((v as AdminDomain[]).map(domainText)) });

export function operationsCommands(program: Command, ctx: CliContext): void {
  withIdempotencyKey(withJson(program.command('seed')))
    .description('load the demo catalog and an approved demo reseller into an empty catalog')
    .requiredOption('--demo', 'the demo data set (the only one there is)')
    .action(async (opts: JsonOption) => {
      const result = await ctx.api().post<{ created: boolean; reseller?: AdminResellerWithCredentials; portal_admin?: { login: string; password: string } }>('demo');
      ctx.emit(opts, result, () =>
        result.created && result.reseller
          ? `Demo catalog loaded (packages tagged "cpanel") with an approved demo reseller:\n${withCredentialsText(result.reseller)}` +
            (result.portal_admin ? `\nSaaS portal administrator (XML-RPC login): ${result.portal_admin.login} / ${result.portal_admin.password}\n` : '')
          : 'The catalog already has packages; nothing was seeded.\n',
      );
    });

  const key = program.command('key').description('manage API keys');
  withIdempotencyKey(withJson(key.command('create')))
    .description('create an operator API key and print it (shown once)')
    .requiredOption('--operator', 'an operator key (the only kind the CLI issues)')
    .option('--name <name>', 'what the key is for, e.g. billing-sync', 'cli')
    .action(async (opts: JsonOption & { name: string }) => {
      const issued = await ctx.api().post<{ id: number; name: string; key: string }>('keys', { name: opts.name });
      ctx.emit(opts, issued, () => `${record(issued)}\nThe key is shown only this once; store it now (use it as HOSTPLANE_API_KEY).\n`);
    });
  withJson(key.command('list'))
    .description('list operator API keys, revoked ones too (the keys themselves are never shown again)')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<OperatorKeyRecord[]>('keys');
      ctx.emit(opts, rows, () => table(rows, keyColumns, 'no operator keys'));
    });
  withIdempotencyKey(withJson(key.command('revoke')))
    .description('revoke an operator API key: requests signed with it are refused from now on (not the key this command uses)')
    .addArgument(idArgument('id', 'key id, as key list shows it'))
    .action(async (id: number, opts: JsonOption) => {
      const revoked = await ctx.api().post<OperatorKeyRecord>(`keys/${id}/revoke`);
      ctx.emit(opts, revoked, () => record(revoked));
    });

  const user = program.command('user').description('manage operator and end users');
  withIdempotencyKey(withJson(user.command('create')))
    .description('create a user: with --operator the SaaS portal administrator (signs in to the XML-RPC door with login and password), else an end user of the CRM door (login is the email)')
    .option('--operator', 'an operator user (portal users sign up themselves)')
    .requiredOption('--login <login>', 'login, e.g. admin')
    .requiredOption('--password <password>', 'password')
    .option('--name <name>', 'display name')
    .action(async (opts: JsonOption & { login: string; password: string; name?: string; operator?: boolean }) => {
      const created = await ctx.api().post<{ id: number; login: string; name: string | null; role: string }>('users', { login: opts.login, password: opts.password, ...(opts.operator ? { operator: true } : {}), ...(opts.name ? { name: opts.name } : {}) });
      ctx.emit(opts, created, () => record(created));
    });
  withIdempotencyKey(withJson(user.command('revoke-tokens')))
    .description("revoke every CRM access token of an end user: their sign-ins on the CRM door end now")
    .argument('<user>', 'user id or email')
    .action(async (ref: string, opts: JsonOption) => {
      const result = await ctx.api().post<{ user_id: number; email: string; revoked: number }>(`users/${segment(ref)}/revoke-tokens`);
      ctx.emit(opts, result, () => `${result.revoked} token${result.revoked === 1 ? '' : 's'} of user ${result.user_id} (${result.email}) revoked\n`);
    });

  const domain = program.command('domain').description('manage client domains');
  withIdempotencyKey(withJson(domain.command('status')))
    .description('set a domain\'s setup status by hand')
    .argument('<name>', 'domain name')
    .argument('<status>', 'initializing, ready or unknown')
    .action(async (name: string, status: string, opts: JsonOption) => {
      const updated = await ctx.api().put<AdminDomain>(`domains/${segment(name)}/status`, { status });
      ctx.emit(opts, updated, () => record(updated));
    });

  const client = program.command('client').description('look after the clients of every reseller');
  withJson(client.command('list'))
    .description('list the clients of every reseller, in id order, a page at a time')
    .option('--reseller <id>', 'only clients of this reseller', positiveId)
    .option('--status <status>', 'only active, suspended, cancelled or deleted clients')
    .option('--search <text>', 'match name, email address or domain')
    .option('--limit <n>', 'at most this many (1-1000, default 100)', integer)
    .option('--after <id>', 'continue a listing after this client id (printed as the next page hint)', positiveId)
    .action(async (opts: JsonOption & { reseller?: number; status?: string; search?: string; limit?: number; after?: number }) => {
      const page = await ctx
        .api()
        .get<{ clients: AdminClientRecord[]; next_after: number | null }>('clients', { reseller_id: opts.reseller, status: opts.status, q: opts.search, limit: opts.limit, after: opts.after });
      ctx.emit(opts, page, () => table(page.clients, clientColumns, 'no clients') + (page.next_after !== null ? `more: add --after ${page.next_after}\n` : ''));
    });

  withJson(client.command('show'))
    .description('show one client with its domains')
    .addArgument(idArgument('id', 'client id'))
    .action(async (id: number, opts: JsonOption) => {
      const found = await ctx.api().get<AdminClientRecord>(`clients/${id}`);
      ctx.emit(opts, found, () => clientText(found));
    });

  withIdempotencyKey(withJson(client.command('restore')))
    .description('undo the cancellation of a client')
    .addArgument(idArgument('id', 'client id'))
    .action(async (id: number, opts: JsonOption) => {
      const restored = await ctx.api().post<AdminClientRecord>(`clients/${id}/restore`);
      ctx.emit(opts, restored, () => clientText(restored));
    });
}
