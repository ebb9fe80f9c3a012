import type { Command } from 'commander';
import { collect, idArgument, integer, withIdempotencyKey, withJson, type CliContext, type JsonOption } from '../options.js';
import { CliError } from '../cli.errors.js';
import { record, table } from '../output.js';

interface ApiTokenRecord {
  id: number;
  name: string;
  allow: string[];
  created_at: string;
  revoked_at: string | null;
  token?: string;
}
interface SubscriptionTypeRecord {
  id: number;
  code: string;
  name: string;
  length: number;
  access: string[];
  extension_method: string;
}
interface FamilyTypeRecord {
  id: number;
  parent: string;
  child: string | null;
  method: string;
  days: number | null;
  count: number;
  is_paid: boolean;
  disabled_at?: string | null;
}
interface FamilyCodeRecord {
  code: string;
  status: string;
  subscription_type_code: string;
  expires_at: string | null;
}

/** The REMP CRM door's operator side: API tokens, subscription types, family types. */
export function subscriptionCommands(program: Command, ctx: CliContext): void {
  const token = program.command('api-token').description('manage CRM API tokens (server-to-server, whitelisted per endpoint)');
  withIdempotencyKey(withJson(token.command('create')))
    .description('create an API token allowed to call the given endpoints, and print it (shown once)')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--allow <path>', 'an endpoint it may call, e.g. /api/v1/subscriptions/create (repeat for more; none: it can call nothing)', collect)
    .action(async (opts: JsonOption & { name: string; allow?: string[] }) => {
      const created = await ctx.api().post<ApiTokenRecord>('api-tokens', { name: opts.name, allow: opts.allow ?? [] });
      ctx.emit(opts, created, () => `${record(created)}The token is shown only this once; store it now.\n`);
    });
  withJson(token.command('list'))
    .description('list API tokens and the endpoints each may call')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<ApiTokenRecord[]>('api-tokens');
      ctx.emit(opts, rows, () => table(rows, [{ header: 'ID', value: (r) => r.id }, { header: 'NAME', value: (r) => r.name }, { header: 'ALLOW', value: (r) => r.allow }, { header: 'REVOKED', value: (r) => r.revoked_at }], 'no API tokens'));
    });
  withIdempotencyKey(withJson(token.command('revoke')))
    .description('revoke an API token: the CRM door refuses it from now on')
    .addArgument(idArgument('id', 'token id, as api-token list shows it'))
    .action(async (id: number, opts: JsonOption) => {
      const revoked = await ctx.api().post<ApiTokenRecord>(`api-tokens/${id}/revoke`);
      ctx.emit(opts, revoked, () => record(revoked));
    });

  const type = program.command('subscription-type').description('manage subscription types');
  withIdempotencyKey(withJson(type.command('create')))
    .description('create a subscription type')
    .requiredOption('--code <code>', 'unique code, e.g. web_year')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--length <days>', 'length in days', integer)
    .option('--access <name>', 'an access it grants, e.g. web (repeat for more)', collect)
    .option('--extension <method>', 'start_now (default), extend_same_type or extend_family')
    .option('--package <uid>', 'the Hostplane package the subscription grants')
    .action(async (opts: JsonOption & { code: string; name: string; length: number; access?: string[]; extension?: string; package?: string }) => {
      const created = await ctx.api().post<SubscriptionTypeRecord>('subscription-types', {
        code: opts.code,
        name: opts.name,
        length: opts.length,
        access: opts.access ?? [],
        ...(opts.extension !== undefined ? { extension_method: opts.extension } : {}),
        ...(opts.package !== undefined ? { package_uid: opts.package } : {}),
      });
      ctx.emit(opts, created, () => record(created));
    });
  withJson(type.command('list'))
    .description('list subscription types')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<SubscriptionTypeRecord[]>('subscription-types');
      ctx.emit(opts, rows, () =>
        table(rows, [{ header: 'ID', value: (r) => r.id }, { header: 'CODE', value: (r) => r.code }, { header: 'DAYS', value: (r) => r.length }, { header: 'ACCESS', value: (r) => r.access }, { header: 'EXTENSION', value: (r) => r.extension_method }], 'no subscription types'),
      );
    });

  const family = program.command('family-type').description('manage family (parent → child) subscription types');
  withIdempotencyKey(withJson(family.command('create')))
    .description('make a subscription type a family parent whose subscriptions come with codes for child subscriptions')
    .requiredOption('--parent <code>', 'the parent subscription type')
    .option('--child <code>', 'the child subscription type (none: each payment item names its own)')
    .requiredOption('--method <method>', 'copy (the parent\'s dates) or fixed_days (N days from activation)')
    .option('--days <n>', 'with fixed_days: how many days a child subscription lasts', integer)
    .requiredOption('--count <n>', 'codes per parent subscription (0: from the payment)', integer)
    .option('--paid', 'child subscriptions count as paid')
    .action(async (opts: JsonOption & { parent: string; child?: string; method: string; days?: number; count: number; paid?: boolean }) => {
      const created = await ctx.api().post<FamilyTypeRecord>('family-types', {
        parent: opts.parent,
        ...(opts.child !== undefined ? { child: opts.child } : {}),
        method: opts.method,
        ...(opts.days !== undefined ? { days: opts.days } : {}),
        count: opts.count,
        is_paid: opts.paid === true,
      });
      ctx.emit(opts, created, () => record(created));
    });
  withJson(family.command('disable'))
    .description('retire a family type: no new codes from it, its unused codes stop working (a new family type may then take its parent type)')
    .argument('<id>', 'the family type id', integer)
    .action(async (id: number, opts: JsonOption) => {
      const disabled = await ctx.api().post<FamilyTypeRecord>(`family-types/${id}/disable`);
      ctx.emit(opts, disabled, () => record(disabled));
    });
  const code = program.command('family-code').description('manage single family codes');
  withJson(code.command('expire'))
    .description('set when a family code stops being usable (--at), or clear it (--never)')
    .argument('<code>', 'the 32-character code')
    .option('--at <time>', 'an ISO 8601 date-time with offset, e.g. 2027-01-31T23:59:59Z')
    .option('--never', 'the code does not expire (clears --at)')
    .action(async (value: string, opts: JsonOption & { at?: string; never?: boolean }) => {
      if ((opts.at === undefined) === (opts.never !== true)) throw CliError.usage('give exactly one of --at <time> or --never');
      const updated = await ctx.api().patch<FamilyCodeRecord>(`family-codes/${encodeURIComponent(value)}`, { expires_at: opts.never ? null : opts.at });
      ctx.emit(opts, updated, () => record(updated));
    });
  withJson(family.command('list'))
    .description('list family types')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<FamilyTypeRecord[]>('family-types');
      ctx.emit(opts, rows, () =>
        table(rows, [{ header: 'ID', value: (r) => r.id }, { header: 'PARENT', value: (r) => r.parent }, { header: 'CHILD', value: (r) => r.child }, { header: 'METHOD', value: (r) => r.method }, { header: 'DAYS', value: (r) => r.days }, { header: 'COUNT', value: (r) => r.count }, { header: 'PAID', value: (r) => r.is_paid }, { header: 'DISABLED', value: (r) => r.disabled_at ?? '' }], 'no family types'),
      );
    });
}
