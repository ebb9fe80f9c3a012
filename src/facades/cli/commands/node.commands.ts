import { InvalidArgumentError, type Command } from 'commander';
import type { z } from 'zod';
import type * as n from '../../admin-rest/nodes.admin.schemas.js';
import { CliError } from '../cli.errors.js';
import { integer, withIdempotencyKey, withJson, type CliContext, type JsonOption } from '../options.js';
import { record, table, text, type Column } from '../output.js';

type AdminNode = z.infer<typeof n.adminNode>;
type NodeWithToken = z.infer<typeof n.nodeWithTokenDoc>;
type NodeObjectPage = z.infer<typeof n.nodeObjectPageDoc>;

const nodeColumns: Column<AdminNode>[] = [
  { header: 'ID', value: (x) => x.id },
  { header: 'NAME', value: (x) => x.name },
  { header: 'ROLES', value: (x) => x.roles },
  { header: 'STATUS', value: (x) => x.status },
  { header: 'LAST HEARTBEAT', value: (x) => x.last_heartbeat_at },
  { header: 'VERSION', value: (x) => x.version },
  { header: 'SITES', value: (x) => x.counts.sites },
  { header: 'PLACED', value: (x) => x.counts.placed },
  { header: 'APPLIED', value: (x) => x.counts.applied },
  { header: 'FAILED', value: (x) => x.counts.failed },
  { header: 'PENDING', value: (x) => x.counts.pending },
  { header: 'LABELS', value: (x) => x.labels },
];

const objectColumns: Column<NodeObjectPage['objects'][number]>[] = [
  { header: 'KIND', value: (o) => o.kind },
  { header: 'ID', value: (o) => o.id },
  { header: 'STATUS', value: (o) => o.status },
  { header: 'VERSION', value: (o) => o.version },
  { header: 'APPLIED', value: (o) => o.applied_version },
  { header: 'ERROR', value: (o) => o.error },
];

/** `--label k=v`, collected; the server checks keys and values. */
function label(raw: string, previous: Record<string, string> | undefined): Record<string, string> {
  const i = raw.indexOf('=');
  if (i < 1) throw new InvalidArgumentError('must be key=value');
  const key = raw.slice(0, i);
  if (previous && Object.hasOwn(previous, key)) throw new InvalidArgumentError(`label ${key} given twice`);
  const out: Record<string, string> = { ...previous };
  Object.defineProperty(out, key, { value: raw.slice(i + 1), enumerable: true, writable: true, configurable: true });
  return out;
}

const tokenText = (x: NodeWithToken, verb: string) =>
  `${record({ id: x.id, name: x.name, roles: x.roles, token: x.token })}` +
  `The ${verb} token is shown only this once and works once, within 24 hours: start the node's agent with\n` +
  `  hostplane agent --url <this server's URL> --token ${x.token} --data-dir <dir>\n`;

const nodeText = (x: AdminNode) => record({ ...x, counts: x.counts }, { capacity: (v) => text(v), drivers: (v) => text(v) });

export function nodeCommands(program: Command, ctx: CliContext): void {
  const node = program.command('node').description('manage hosting nodes (machines running `hostplane agent`)');

  /** A node by id or name: a name wins, since a name may look like a number. */
  async function resolve(ref: string): Promise<AdminNode> {
    const nodes = await ctx.api().get<AdminNode[]>('nodes');
    const found = nodes.find((x) => x.name === ref) ?? (/^[0-9]{1,15}$/.test(ref) ? nodes.find((x) => x.id === Number(ref)) : undefined);
    if (!found) throw new CliError('not_found', `no node named or numbered ${JSON.stringify(ref)} (see hostplane node list)`);
    return found;
  }

  withIdempotencyKey(withJson(node.command('create')))
    .description('register a hosting node and print its one-time enrolment token (shown once, valid 24 hours)')
    .requiredOption('--name <name>', 'node name: lowercase letters, digits and "-", e.g. web1')
    .requiredOption('--roles <roles>', 'comma-separated roles: web, db, relay')
    .option('--label <key=value>', 'a label plans can select nodes by (repeatable)', label)
    .action(async (opts: JsonOption & { name: string; roles: string; label?: Record<string, string> }) => {
      const roles = opts.roles.split(',').map((r) => r.trim()).filter(Boolean);
      const created = await ctx.api().post<NodeWithToken>('nodes', { name: opts.name, roles, labels: opts.label ?? {} });
      ctx.emit(opts, { id: created.id, name: created.name, roles: created.roles, token: created.token }, () => tokenText(created, 'enrolment'));
    });

  withJson(node.command('list'))
    .description('list hosting nodes with their status (healthy, unhealthy, draining), last heartbeat and object counts')
    .action(async (opts: JsonOption) => {
      const rows = await ctx.api().get<AdminNode[]>('nodes');
      ctx.emit(opts, rows, () => table(rows, nodeColumns, 'no nodes (add one with hostplane node create)'));
    });

  withJson(node.command('show'))
    .description('show a hosting node')
    .argument('<node>', 'node id or name')
    .option('--failed', 'also list the objects whose last apply failed')
    .option('--behind', 'also list the objects not applied at their current version (shown for relay nodes anyway: the domains it is behind on)')
    .action(async (ref: string, opts: JsonOption & { failed?: boolean; behind?: boolean }) => {
      const found = await resolve(ref);
      const shown = await ctx.api().get<AdminNode>(`nodes/${found.id}`);
      // A relay node holds every domain: which ones it has not applied yet is the first thing to know.
      const behind = opts.behind || shown.roles.includes('relay');
      if (!opts.failed && !behind) return ctx.emit(opts, shown, () => nodeText(shown));
      const failed = opts.failed ? await ctx.api().get<NodeObjectPage>(`nodes/${found.id}/objects`, { failed: 'true', limit: 1000 }) : undefined;
      const late = behind ? await ctx.api().get<NodeObjectPage>(`nodes/${found.id}/objects`, { behind: 'true', limit: 1000 }) : undefined;
      const more = late?.next_after ? `more: hostplane node objects ${shown.name} --behind --after ${late.next_after}\n` : '';
      ctx.emit(
        opts,
        { ...shown, ...(failed ? { failed_objects: failed.objects } : {}), ...(late ? { behind_objects: late.objects } : {}) },
        () =>
          nodeText(shown) +
          (failed ? `\n${table(failed.objects, objectColumns, 'no failed objects')}` : '') +
          (late ? `\nbehind on:\n${table(late.objects, objectColumns, 'nothing: every object is applied at its current version')}${more}` : ''),
      );
    });

  withJson(node.command('objects'))
    .description("list a node's desired objects and what it reported of each, a page at a time")
    .argument('<node>', 'node id or name')
    .option('--failed', 'only objects whose last apply failed')
    .option('--behind', 'only objects not applied at their current version (failed ones included)')
    .option('--limit <n>', 'at most this many (1-1000, default 100)', integer)
    .option('--after <id>', 'continue after this object id (printed as the next page hint)')
    .action(async (ref: string, opts: JsonOption & { failed?: boolean; behind?: boolean; limit?: number; after?: string }) => {
      const found = await resolve(ref);
      const page = await ctx.api().get<NodeObjectPage>(`nodes/${found.id}/objects`, { failed: opts.failed ? 'true' : undefined, behind: opts.behind ? 'true' : undefined, limit: opts.limit, after: opts.after });
      ctx.emit(opts, page, () => table(page.objects, objectColumns, 'no objects') + (page.next_after !== null ? `more: add --after ${page.next_after}\n` : ''));
    });

  for (const [verb, description] of [
    ['drain', 'drain a node: no new sites are placed on it; what it holds stays served'],
    ['undrain', 'undo a drain: the node takes new sites again'],
  ] as const) {
    withIdempotencyKey(withJson(node.command(verb)))
      .description(description)
      .argument('<node>', 'node id or name')
      .action(async (ref: string, opts: JsonOption) => {
        const found = await resolve(ref);
        const changed = await ctx.api().post<AdminNode>(`nodes/${found.id}/${verb}`);
        ctx.emit(opts, changed, () => `node ${changed.name} is ${changed.status}\n`);
      });
  }

  withIdempotencyKey(withJson(node.command('delete')))
    .description('delete a hosting node; refused while live sites are placed on it, unless --force (they become not placed)')
    .argument('<node>', 'node id or name')
    .option('--force', 'delete even with sites placed on it')
    .action(async (ref: string, opts: JsonOption & { force?: boolean }) => {
      const found = await resolve(ref);
      const deleted = await ctx.api().delete<{ id: number; name: string; unplaced_sites: number }>(`nodes/${found.id}`, { force: opts.force ? 'true' : undefined });
      ctx.emit(opts, deleted, () => `node ${deleted.name} deleted${deleted.unplaced_sites ? `; ${deleted.unplaced_sites} sites are no longer placed` : ''}\n`);
    });

  withIdempotencyKey(withJson(node.command('rotate-token')))
    .description("issue a new one-time enrolment token; the node's current token works until the new one is exchanged")
    .argument('<node>', 'node id or name')
    .action(async (ref: string, opts: JsonOption) => {
      const found = await resolve(ref);
      const rotated = await ctx.api().post<NodeWithToken>(`nodes/${found.id}/rotate-token`);
      ctx.emit(opts, { id: rotated.id, name: rotated.name, roles: rotated.roles, token: rotated.token }, () => tokenText(rotated, 'new enrolment'));
    });

  withIdempotencyKey(withJson(node.command('revoke-token')))
    .description("end the node's token now: its agent is refused (it keeps serving what it applied) until it enrols again")
    .argument('<node>', 'node id or name')
    .action(async (ref: string, opts: JsonOption) => {
      const found = await resolve(ref);
      const revoked = await ctx.api().post<AdminNode>(`nodes/${found.id}/revoke-token`);
      ctx.emit(opts, revoked, () => `node ${revoked.name}: token revoked; issue a new enrolment token with hostplane node rotate-token ${revoked.name}\n`);
    });
}

