import type { Command } from 'commander';
import { collect, integer, withIdempotencyKey, withJson, type CliContext, type JsonOption } from '../options.js';
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
      ctx.emit(opts, rows, () => table(rows, [{ header: 'ID', value: (r) => r.id }, { header: 'NAME', value: (r) => r.name }, { header: 'ALLOW', value: (r) => r.allow }], 'no API tokens'));
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
  withJson(family.command('list'))
    .description('list family types')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<FamilyTypeRecord[]>('family-types');
      ctx.emit(opts, rows, () =>
        table(rows, [{ header: 'ID', value: (r) => r.id }, { header: 'PARENT', value: (r) => r.parent }, { header: 'CHILD', value: (r) => r.child }, { header: 'METHOD', value: (r) => r.method }, { header: 'DAYS', value: (r) => r.days }, { header: 'COUNT', value: (r) => r.count }, { header: 'PAID', value: (r) => r.is_paid }], 'no family types'),
      );
    });
}
