import type { Command } from 'commander';
import type { z } from 'zod';
import type * as s from '../../admin-rest/admin.schemas.js';
import { segment } from '../admin-client.js';
import { CliError } from '../cli.errors.js';
import { collect, given, integer, withIdempotencyKey, withJson, type CliContext, type JsonOption } from '../options.js';
import { record, table, text, type Column } from '../output.js';

type AdminPackage = z.infer<typeof s.adminPackage>;
type AdminFeature = z.infer<typeof s.adminFeature>;

interface PackageOptions extends JsonOption {
  uid?: string;
  name?: string;
  description?: string;
  position?: number;
  freeTrial?: number;
  tag?: string[];
  feature?: string[];
  domainCost?: number;
  mailboxCost?: number;
  maxUsers?: number;
  maxDomains?: number;
  maxMailServers?: number;
  parent?: string | false;
  nodeLabel?: string | false;
  templateDatabase?: string | false;
}

const featureName = (f: AdminFeature) => f.code ?? `#${f.id}`;

const packageColumns: Column<AdminPackage>[] = [
  { header: 'UID', value: (p) => p.uid },
  { header: 'NAME', value: (p) => p.name },
  { header: 'POS', value: (p) => p.position },
  { header: 'TRIAL', value: (p) => p.free_trial },
  { header: 'DOMAIN¢', value: (p) => p.domain_cost_cents },
  { header: 'MAILBOX¢', value: (p) => p.mailbox_cost_cents },
  { header: 'TAGS', value: (p) => p.tags },
  { header: 'LIMITS', value: (p) => p.limits },
  { header: 'PARENT', value: (p) => p.parent_uid },
  { header: 'FEATURES', value: (p) => p.features.map(featureName) },
];

const featureColumns: Column<AdminFeature>[] = [
  { header: 'ID', value: (f) => f.id },
  { header: 'CODE', value: (f) => f.code },
  { header: 'NAME', value: (f) => f.name },
  { header: 'POS', value: (f) => f.position },
  { header: 'BLURB', value: (f) => f.blurb },
];

const packageText = (p: AdminPackage) => record(p, { features: (v) => text((v as AdminFeature[]).map(featureName)) });

/** The options create and update share; on update a list option replaces the whole list. */
function packageOptions(cmd: Command, replaces: string): Command {
  return cmd
    .option('--description <text>', 'longer description')
    .option('--position <n>', 'sort position among packages', integer)
    .option('--free-trial <days>', 'free trial length in days', integer)
    .option('--tag <tag>', `tag resellers select packages by (repeatable${replaces})`, collect)
    .option('--feature <id-or-code>', `feature id or code (repeatable${replaces})`, collect)
    .option('--domain-cost <cents>', 'monthly cost per domain, in cents', integer)
    .option('--mailbox-cost <cents>', 'monthly cost per mailbox, in cents', integer)
    .option('--max-users <n>', 'limit on users per client', integer)
    .option('--max-domains <n>', 'limit on domains per client', integer)
    .option('--max-mail-servers <n>', 'limit on mail servers per domain', integer)
    .option('--node-label <key=value>', 'new sites of the package go only to hosting nodes with this label')
    .option('--template-database <name>', "SaaS plans: the PostgreSQL database new instances are copied from on their db node (a-z, 0-9, _)");
}

// The API takes feature ids as numbers and codes as strings; a code is never all digits.
const featureRef = (ref: string): number | string => (/^[0-9]+$/.test(ref) ? Number(ref) : ref);

function limitsOf(o: PackageOptions): Record<string, number> {
  return given({ max_users: o.maxUsers, max_domains: o.maxDomains, max_mail_servers: o.maxMailServers }) as Record<string, number>;
}

function packageBody(o: PackageOptions, limits: Record<string, number>): Record<string, unknown> {
  return given({
    uid: o.uid,
    name: o.name,
    description: o.description,
    position: o.position,
    free_trial: o.freeTrial,
    tags: o.tag,
    features: o.feature?.map(featureRef),
    domain_cost_cents: o.domainCost,
    mailbox_cost_cents: o.mailboxCost,
    limits: Object.keys(limits).length ? limits : undefined,
    parent_uid: o.parent === false ? null : o.parent,
    node_label: o.nodeLabel === false ? null : o.nodeLabel,
    template_database: o.templateDatabase === false ? null : o.templateDatabase,
  });
}

export function catalogCommands(program: Command, ctx: CliContext): void {
  const pkg = program.command('package').description('manage the package catalog');

  withJson(pkg.command('list'))
    .description('list every package')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<AdminPackage[]>('packages');
      ctx.emit(opts, rows, () => table(rows, packageColumns, 'no packages'));
    });

  const create = pkg
    .command('create')
    .description('create a package')
    .requiredOption('--uid <uid>', 'stable identifier resellers order by, e.g. spamstopshere-standard')
    .requiredOption('--name <name>', 'display name');
  withIdempotencyKey(withJson(packageOptions(create, '').option('--parent <uid>', 'uid of the package this one upgrades from')))
    .action(async (opts: PackageOptions) => {
      const created = await ctx.api().post<AdminPackage>('packages', packageBody(opts, limitsOf(opts)));
      ctx.emit(opts, created, () => packageText(created));
    });

  const update = pkg.command('update').description('change a package (only the options given)').argument('<uid>', 'package uid').option('--name <name>', 'display name');
  withIdempotencyKey(withJson(packageOptions(update, '; replaces the current ones').option('--parent <uid>', 'uid of the package this one upgrades from').option('--no-parent', 'remove the parent package').option('--no-node-label', 'let new sites go to any web node').option('--no-template-database', 'new instances get no database of their own')))
    .action(async (uid: string, opts: PackageOptions) => {
      const api = ctx.api();
      let limits = limitsOf(opts);
      if (Object.keys(limits).length) {
        // The API replaces the limits object as a whole; `--max-users 5` alone must not drop the other limits.
        const current = await api.get<AdminPackage>(`packages/${segment(uid)}`);
        limits = { ...current.limits, ...limits };
      }
      const body = packageBody(opts, limits);
      if (Object.keys(body).length === 0) throw CliError.usage('nothing to update: give at least one option (see hostplane package update --help)');
      const updated = await api.patch<AdminPackage>(`packages/${segment(uid)}`, body);
      ctx.emit(opts, updated, () => packageText(updated));
    });

  const feature = program.command('feature').description('manage the features packages list');

  withJson(feature.command('list'))
    .description('list every feature')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<AdminFeature[]>('features');
      ctx.emit(opts, rows, () => table(rows, featureColumns, 'no features'));
    });

  withIdempotencyKey(withJson(feature.command('create')))
    .description('create a feature')
    .requiredOption('--name <name>', 'display name')
    .option('--code <code>', 'stable code packages and the core refer to, e.g. anti_spam')
    .option('--blurb <text>', 'short line shown under the name')
    .option('--description <text>', 'longer description')
    .option('--position <n>', 'sort position among features', integer)
    .action(async (opts: JsonOption & { name: string; code?: string; blurb?: string; description?: string; position?: number }) => {
      const body = given({ name: opts.name, code: opts.code, blurb: opts.blurb, description: opts.description, position: opts.position });
      const created = await ctx.api().post<AdminFeature>('features', body);
      ctx.emit(opts, created, () => record(created));
    });
}
