import { AdminClient, segment } from '../admin-client.js';
import { CliError, exitCodeFor } from '../cli.errors.js';
import { CliSyntaxError, parseCliArgument, type CliValue } from './cli-syntax.js';
import { formatJson, formatYaml } from './yaml-output.js';
import { SERVICES } from '../../../core/sites/site.catalog.js';

/**
 * ApisCP's command-line tools over Hostplane's function door (`POST /api/v1/cpcmd/{fn}`): `cpcmd`
 * and the account verbs AddDomain, EditDomain, SuspendDomain, ActivateDomain and DeleteDomain. They
 * find the server like `hostplane` does (HOSTPLANE_URL, HOSTPLANE_API_KEY or <data dir>/operator-key).
 */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** stderr is a terminal: long calls show that they are working. */
  interactive: boolean;
}

const defaultIo = (): CliIo => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  interactive: Boolean(process.stderr.isTTY),
});

class UsageError extends CliError {
  constructor(message: string) {
    super('usage', message);
  }
}

const info = (io: CliIo, line: string) => io.stdout(`INFO    : ${line}\n`);

async function call(env: NodeJS.ProcessEnv, io: CliIo, fn: string, args: unknown[], opts: { site?: string | undefined; user?: string | undefined } = {}): Promise<unknown> {
  const client = AdminClient.fromEnv(env);
  const started = Date.now();
  // A group operation runs as one transaction on the server; on a terminal, show that it is working
  // and, when it is done, how many sites it covered.
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  if (io.interactive) io.stderr(`${fn}: working...`);
  const ticker = io.interactive ? setInterval(() => io.stderr(`\r${fn}: working... ${elapsed()}`), 1000) : undefined;
  let result: unknown;
  try {
    const body = { args, ...(opts.site ? { site: opts.site } : {}), ...(opts.user ? { user: opts.user } : {}) };
    result = (await client.postTo<{ result: unknown }>(`api/v1/cpcmd/${segment(fn)}`, body)).result;
    return result;
  } finally {
    if (ticker) {
      clearInterval(ticker);
      const count = Array.isArray(result) ? ` (${result.length} site${result.length === 1 ? '' : 's'})` : '';
      io.stderr(`\r${fn}: ${result === undefined ? 'failed' : 'done'}${count} in ${elapsed()}\n`);
    }
  }
}

/** Fields that are command-line options (--since, --match, --reason): their messages get the option's name. */
const OPTION_FIELDS = new Set(['since', 'match', 'reason']);

function report(io: CliIo, err: unknown): number {
  if (err instanceof CliSyntaxError) {
    io.stderr(`ERROR   : ${err.message}\n`);
    return exitCodeFor('usage');
  }
  if (err instanceof CliError) {
    // An option's message (since, match, reason) gets the option in front; service parameters'
    // messages name their parameter already.
    const named = (field: string, message: string) => (OPTION_FIELDS.has(field) && !message.includes(field) ? `${field}: ${message}` : message);
    const fieldLines = Object.entries(err.fields ?? {}).flatMap(([field, messages]) => messages.map((m) => named(field, m)));
    if (fieldLines.length) for (const line of fieldLines) io.stderr(`ERROR   : ${line}\n`);
    else io.stderr(`ERROR   : ${err.message}\n`);
    return exitCodeFor(err.kind);
  }
  throw err;
}

// ---------------------------------------------------------------------------------------------
// cpcmd

const CPCMD_USAGE = `Usage: cpcmd [-d SITE] [-u USER] [-o yaml|json] module:function [ARGS...]

Calls a module function (module:function-name or module_function_name). Each argument is read in
the cli syntax: [a,b] is a list, [k:v,k2:v2] a map (nesting allowed, keys may be quoted:
["billing,parent_invoice":x]), null, true, false and numbers are themselves, anything else is text.
Output is YAML unless -o json.

Examples:
  cpcmd admin:collect '[siteinfo.domain,diskquota.quota]' '[billing.parent_invoice:master-invoice-123]'
  cpcmd -d test-domain.com auth:is-inactive
  cpcmd scope:set opcenter.account-cleanup '30 days'
`;

export async function runCpcmd(argv: string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = defaultIo()): Promise<number> {
  try {
    let site: string | undefined;
    let user: string | undefined;
    let format = 'yaml';
    let i = 0;
    for (; i < argv.length; i++) {
      const a = argv[i]!;
      const value = () => {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`${a} needs a value\n\n${CPCMD_USAGE}`);
        return v;
      };
      if (a === '-h' || a === '--help') {
        io.stdout(CPCMD_USAGE);
        return 0;
      } else if (a === '-d' || a === '--domain' || a === '--site') site = value();
      else if (a === '-u' || a === '--user') user = value();
      else if (a === '-o' || a === '--output') format = value();
      else if (/^-[duo]./.test(a)) {
        const v = a.slice(2);
        if (a[1] === 'd') site = v;
        else if (a[1] === 'u') user = v;
        else format = v;
      } else if (a === '--') {
        i++;
        break;
      } else if (a.startsWith('-') && !/^-\d/.test(a)) throw new UsageError(`unknown option ${a}\n\n${CPCMD_USAGE}`);
      else break;
    }
    if (format !== 'yaml' && format !== 'json') throw new UsageError(`-o must be yaml or json, not ${JSON.stringify(format)}`);
    const fn = argv[i];
    if (!fn) throw new UsageError(`missing module:function\n\n${CPCMD_USAGE}`);
    if (!/^[a-z][a-z0-9]*[:_][a-z0-9_-]+$/i.test(fn)) throw new UsageError(`${JSON.stringify(fn)} is not a module:function name`);
    const args: CliValue[] = argv.slice(i + 1).map((text, n) => {
      try {
        return parseCliArgument(text);
      } catch (e) {
        if (e instanceof CliSyntaxError) throw new UsageError(`argument ${n + 1} (${JSON.stringify(text)}): ${e.message}`);
        throw e;
      }
    });
    const result = await call(env, io, fn, args, { site, user });
    io.stdout(format === 'json' ? formatJson(result) : formatScalarOrYaml(result));
    return 0;
  } catch (err) {
    return report(io, err);
  }
}

/** Scalars print bare, booleans as PHP prints them (1, or 0 for false); structures as YAML. */
function formatScalarOrYaml(result: unknown): string {
  if (result === true) return '1\n';
  if (result === false) return '0\n';
  const out = formatYaml(result);
  return out.endsWith('\n') ? out : `${out}\n`;
}

// ---------------------------------------------------------------------------------------------
// The account verbs

interface VerbArgs {
  flags: Set<string>;
  values: Map<string, string>;
  conf: [string, unknown][];
  positional: string[];
}

/** `-c service,param=value` (repeatable), `--flag`, `--name=value` / `--name value`, and targets. */
function parseVerbArgs(argv: string[], usage: string, known: { flags: string[]; values: string[]; conf: boolean }): VerbArgs {
  const out: VerbArgs = { flags: new Set(), values: new Map(), conf: [], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--conf' || (a.startsWith('-c') && a.length > 2 && !a.startsWith('--'))) {
      if (!known.conf) throw new UsageError(`-c is not an option of this command\n\n${usage}`);
      const text = a.length > 2 && a !== '--conf' ? a.slice(2) : argv[++i];
      if (text === undefined) throw new UsageError(`-c needs service,param=value\n\n${usage}`);
      const eq = text.indexOf('=');
      if (eq <= 0 || !/^[a-z_][a-z0-9_]*,[a-z_][a-z0-9_]*$/i.test(text.slice(0, eq))) throw new UsageError(`-c ${JSON.stringify(text)}: expected service,param=value (e.g. siteinfo,domain=example.com)`);
      const raw = text.slice(eq + 1);
      try {
        out.conf.push([text.slice(0, eq), raw.startsWith('[') || raw === 'null' ? parseCliArgument(raw) : raw]);
      } catch (e) {
        if (e instanceof CliSyntaxError) throw new UsageError(`-c ${JSON.stringify(text)}: ${e.message}`);
        throw e;
      }
      continue;
    }
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      if (known.flags.includes(name) && inline === undefined) out.flags.add(name);
      else if (known.values.includes(name)) {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value\n\n${usage}`);
        out.values.set(name, v);
      } else throw new UsageError(`unknown option ${a}\n\n${usage}`);
      continue;
    }
    if (a === '-h') {
      out.flags.add('help');
      continue;
    }
    out.positional.push(a);
  }
  return out;
}

/** Later -c values of a parameter win; fromEntries defines own keys, so no name can reach a prototype. */
function confMap(conf: [string, unknown][]): Record<string, unknown> {
  return Object.fromEntries(conf);
}

/** Notes beyond a parameter's own help that only the command line needs. */
const CLI_NOTES: Record<string, string> = {
  'siteinfo,domain': ' (required)',
  'siteinfo,admin_user': ' (required)',
  'siteinfo,email': ' (default blackhole@apiscp.com)',
  'siteinfo,plan': ' (default basic; see cpcmd admin:list-plans)',
  'aliases,aliases': ', e.g. aliases,aliases=[a.example,b.example]',
};

/** Every service parameter with its help, from the one catalog the server checks values against. */
const SERVICES_HELP = `Services and parameters (-c service,param=value):
${Object.entries(SERVICES)
  .flatMap(([service, params]) => Object.entries(params).map(([param, spec]) => `  ${`${service},${param}`.padEnd(28)} ${spec.help}${CLI_NOTES[`${service},${param}`] ?? ''}`))
  .join('\n')}`;

const ADD_USAGE = `Usage: AddDomain -c siteinfo,domain=DOMAIN -c siteinfo,admin_user=USER [-c service,param=value ...] [--plan PLAN]\n\nWithout auth,tpasswd or auth,cpasswd the administrator gets a random password.\n\n${SERVICES_HELP}\n`;
const EDIT_USAGE = `Usage: EditDomain [--dry-run] [--reset] -c service,param=value [...] SITE|DOMAIN|INVOICE\n\n--reset drops every value the site set itself (back to its plan's) before applying -c.\n\n${SERVICES_HELP}\n`;
const SUSPEND_USAGE = 'Usage: SuspendDomain [--reason REASON] SITE|DOMAIN|INVOICE [...]\n\nSeveral targets are one change: when one names no site, none is suspended.\n';
const ACTIVATE_USAGE = 'Usage: ActivateDomain SITE|DOMAIN|INVOICE [...]\n\nSeveral targets are one change: when one names no site, none is activated.\n';
const DELETE_USAGE = `Usage: DeleteDomain [--dry-run] [--since=now|"30 days"|UNIXTIME|YYYY-MM-DD] [--match=REGEX] [--force] [SITE|DOMAIN|INVOICE ...]

Deletes every site the targets name (an invoice names its master and subordinates). --since keeps
only sites suspended at or before that time, --match only those whose suspension reason matches.
Without a target, --since selects among all sites. --force also deletes a master whose
subordinates are not deleted with it. Several targets are one deletion: when one names no site, or
would take a master from subordinates that stay, nothing is deleted.
`;

/**
 * Several targets go to the server as one list, so the command is one transaction: a mistyped
 * target, or a rule one of them breaks, refuses it whole. One target goes as itself, as ApisCP sends it.
 */
function targetArg(targets: string[]): string | string[] {
  return targets.length === 1 ? targets[0]! : targets;
}

function shortDate(iso: string | null): string {
  return iso ? iso.slice(0, 10) : '';
}

interface SiteSummary {
  site: string;
  domain: string | null;
  suspended_at: string | null;
}

export async function runAccountVerb(verb: string, argv: string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = defaultIo()): Promise<number> {
  try {
    switch (verb) {
      case 'AddDomain': {
        const a = parseVerbArgs(argv, ADD_USAGE, { flags: ['help'], values: ['plan'], conf: true });
        if (a.flags.has('help')) return (io.stdout(ADD_USAGE), 0);
        if (a.positional.length) throw new UsageError(`unexpected argument ${a.positional[0]}\n\n${ADD_USAGE}`);
        const opts = confMap(a.conf);
        const domain = opts['siteinfo,domain'];
        const admin = opts['siteinfo,admin_user'];
        delete opts['siteinfo,domain'];
        delete opts['siteinfo,admin_user'];
        await call(env, io, 'admin:add-site', [domain ?? null, admin ?? null, opts, a.values.get('plan') ?? null]);
        const found = (await call(env, io, 'admin:collect', [['siteinfo.domain'], { 'siteinfo.domain': String(domain) }])) as Record<string, unknown>;
        info(io, `${Object.keys(found)[0] ?? 'site'} (${String(domain)}) created`);
        return 0;
      }
      case 'EditDomain': {
        const a = parseVerbArgs(argv, EDIT_USAGE, { flags: ['help', 'dry-run', 'reset'], values: [], conf: true });
        if (a.flags.has('help')) return (io.stdout(EDIT_USAGE), 0);
        if (a.positional.length !== 1) throw new UsageError(`name one site, domain or invoice\n\n${EDIT_USAGE}`);
        const opts = confMap(a.conf);
        const dryRun = a.flags.has('dry-run');
        // One call that answers with the changes it made (or, in a dry run, would make): nothing is
        // printed as done unless the server did it.
        const flags = { reset: a.flags.has('reset'), ...(dryRun ? { 'dry-run': true } : { report: true }) };
        const edited = (await call(env, io, 'admin:edit-site', [a.positional[0], opts, flags])) as { site: string; domain: string | null; changes: { param: string; before: unknown; after: unknown }[] }[];
        for (const s of edited) {
          if (!s.changes.length) info(io, `${s.site} (${s.domain ?? '-'}): nothing to change`);
          for (const c of s.changes) info(io, `${s.site} (${s.domain ?? '-'}): ${c.param} ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}${dryRun ? ' (dry run)' : ''}`);
        }
        return 0;
      }
      case 'SuspendDomain':
      case 'ActivateDomain': {
        const usage = verb === 'SuspendDomain' ? SUSPEND_USAGE : ACTIVATE_USAGE;
        const a = parseVerbArgs(argv, usage, { flags: ['help'], values: verb === 'SuspendDomain' ? ['reason'] : [], conf: false });
        if (a.flags.has('help')) return (io.stdout(usage), 0);
        if (!a.positional.length) throw new UsageError(`name at least one site, domain or invoice\n\n${usage}`);
        if (verb === 'SuspendDomain') await call(env, io, 'admin:deactivate-site', [targetArg(a.positional), a.values.get('reason') ?? null]);
        else await call(env, io, 'admin:activate-site', [targetArg(a.positional)]);
        return 0;
      }
      case 'DeleteDomain': {
        const a = parseVerbArgs(argv, DELETE_USAGE, { flags: ['help', 'dry-run', 'force'], values: ['since', 'match'], conf: false });
        if (a.flags.has('help')) return (io.stdout(DELETE_USAGE), 0);
        if (!a.positional.length && !a.values.has('since')) throw new UsageError(`name a site, domain or invoice, or select suspended sites with --since\n\n${DELETE_USAGE}`);
        const flags = {
          ...(a.values.has('since') ? { since: a.values.get('since') } : {}),
          ...(a.values.has('match') ? { match: a.values.get('match') } : {}),
          'dry-run': a.flags.has('dry-run'),
          force: a.flags.has('force'),
        };
        const sites = (await call(env, io, 'admin:delete-site', [a.positional.length ? targetArg(a.positional) : null, flags])) as SiteSummary[] | boolean;
        const list = Array.isArray(sites) ? sites : [];
        for (const s of list) {
          const when = s.suspended_at ? `suspension date ${shortDate(s.suspended_at)}` : 'no suspension date';
          info(io, `${s.site} (${s.domain ?? '-'}; ${when}) ${a.flags.has('dry-run') ? 'will be deleted' : 'deleted'}`);
        }
        if (!list.length) info(io, `no site of ${a.positional.length ? a.positional.join(', ') : 'the server'} matches; nothing ${a.flags.has('dry-run') ? 'would be' : 'was'} deleted`);
        return 0;
      }
    }
    throw new UsageError(`unknown command ${verb}`);
  } catch (err) {
    return report(io, err);
  }
}
