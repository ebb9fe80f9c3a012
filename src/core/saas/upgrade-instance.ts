import { AppError, addFieldError, fieldErrors } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { datetimeValue } from '../shared/record-filter.js';
import { getInstanceDatabases, syncDatabaseObjects } from '../nodes/database-objects.js';
import { activateSites, editSites, suspendSites } from '../sites/site.service.js';
import * as repo from './saas.repository.js';
import { ACCESS_GROUPS, NO_USER_LIMIT, type UpgradePayload } from './saas.schema.js';
import { requireOperator } from './saas.service.js';

// `do_upgrade_database`: the portal's one call that changes an instance after it was made.

async function instanceFor(ctx: Ctx, id: unknown): Promise<repo.InstanceRow> {
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw AppError.validation({ id: ['must be an instance id'] }, 'the client id must be an integer');
  const row = await repo.findInstance(ctx.db, id);
  if (!row || (ctx.actor.kind === 'user' && row.owner_user_id !== ctx.actor.userId)) throw AppError.notFound(`saas_portal.client(${id})`);
  return row;
}

// ---------------------------------------------------------------------------------------------
// do_upgrade_database

const TRUE_VALUES = new Set(['1', 'true', 'True']);
const FALSE_VALUES = new Set(['0', 'false', 'False', '']);

function stringList(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null || raw === false) return [];
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string')) return undefined;
  return raw as string[];
}

/**
 * Applies an upgrade payload to one instance: params (suspended, max_users, total_storage_limit, expiration_datetime),
 * module installs and removals, and access-group changes. Problems are reported per key, as the
 * portal does, and whatever was valid is applied (all of it in one transaction).
 */
export async function upgradeInstance(ctx: Ctx, clientId: unknown, payload: UpgradePayload): Promise<Record<string, Record<string, string[]>>> {
  requireOperator(ctx);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw AppError.validation({ payload: ['must be a dictionary'] }, 'the upgrade payload must be a dictionary');
  const known = new Set(['params', 'install_addons', 'uninstall_addons', 'access_owner_add', 'access_remove']);
  const unknownKeys = Object.keys(payload).filter((k) => !known.has(k));
  return inTransaction(ctx, async (tx) => {
    const instance = await instanceFor(tx, clientId);
    await repo.lockInstance(tx.db, instance.id);
    // Keyed by the payload's own keys: "toString" or "__proto__" must be a key like any other.
    const problems = fieldErrors();
    const note = (key: string, message: string) => addFieldError(problems, key, message);
    for (const k of unknownKeys) note(k, `unknown key ${k}`);
    const target = `site${instance.id}`;
    // The instance's database as its node last reported it, before this change writes a new version
    // (which clears the error until the node tries again): a failure is one of the answer's problems.
    const database = (await getInstanceDatabases(tx, [instance.id])).get(instance.id);
    if (database?.status === 'failed') note('database', `database ${database.name} failed on node ${database.node}: ${database.error}`);
    else if (database?.status === 'not_placed') note('database', `database ${database.name} is not placed: no healthy db node can take it yet`);

    // params
    if (payload.params !== undefined) {
      if (!Array.isArray(payload.params)) note('params', 'must be a list of {key, value}');
      else {
        for (const p of payload.params as unknown[]) {
          const key = (p as { key?: unknown })?.key;
          const value = (p as { value?: unknown })?.value;
          const text = typeof value === 'number' ? String(value) : typeof value === 'boolean' ? (value ? '1' : '0') : value;
          if (typeof key !== 'string' || (typeof text !== 'string' && text !== null)) {
            note('params', 'each param needs a key and a value');
            continue;
          }
          if (key === 'saas_client.suspended') {
            if (typeof text === 'string' && TRUE_VALUES.has(text)) await suspendSites(tx, { target, reason: 'saas_client.suspended' });
            else if (text === null || FALSE_VALUES.has(text)) await activateSites(tx, { target });
            else note('params', `saas_client.suspended: expected 1 or 0, got ${JSON.stringify(value)}`);
          } else if (key === 'saas_client.max_users') {
            const n = text === null || text === '' ? NO_USER_LIMIT : Number(text);
            if (!Number.isSafeInteger(n) || n < 0) note('params', `saas_client.max_users: ${JSON.stringify(value)} is not a whole number`);
            else await editSites(tx, { target, opts: { 'users.max': n } });
          } else if (key === 'saas_client.total_storage_limit') {
            const n = text === null || text === '' ? 0 : Number(text);
            if (!Number.isSafeInteger(n) || n < 0) note('params', `saas_client.total_storage_limit: ${JSON.stringify(value)} is not a whole number of MB`);
            else await editSites(tx, { target, opts: { 'diskquota.quota': n } });
          } else if (key === 'saas_client.expiration_datetime') {
            // Odoo's `YYYY-MM-DD HH:MM:SS` (UTC), a date alone or ISO 8601 with a zone, as the portal's filters take them; whole seconds, as Odoo keeps them.
            const instant = text === null || text === '' || value === false ? null : datetimeValue(text.trim())?.instant;
            const at = instant === null || instant === undefined ? instant : new Date(Math.floor(instant.getTime() / 1000) * 1000);
            if (at === undefined) note('params', `saas_client.expiration_datetime: ${JSON.stringify(value)} is not a date and time (YYYY-MM-DD HH:MM:SS, UTC)`);
            else {
              const before = await repo.setInstanceExpiry(tx.db, instance.id, at, tx.clock());
              if ((before?.getTime() ?? null) !== (at?.getTime() ?? null)) {
                // The instance's database holds it too, in its ir_config_parameter.
                await syncDatabaseObjects(tx, [instance.id]);
                await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: instance.id, resellerId: null, before: { expires_at: before?.toISOString() ?? null }, after: { expires_at: at?.toISOString() ?? null } });
              }
            }
          } else note('params', `unknown parameter ${key}`);
        }
      }
    }

    // modules
    const install = stringList(payload.install_addons);
    const uninstall = stringList(payload.uninstall_addons);
    if (!install) note('install_addons', 'must be a list of module names');
    if (!uninstall) note('uninstall_addons', 'must be a list of module names');
    if ((install && install.length) || (uninstall && uninstall.length)) {
      const catalog = new Map((await repo.listAddons(tx.db)).map((a) => [a.name, a]));
      const plan = instance.plan_id !== null ? await repo.findSaasPlan(tx.db, instance.plan_id) : undefined;
      const allowed = (name: string) => !plan || plan.addons.length === 0 || plan.addons.includes(name) || name === 'base';
      let installed = new Set(await repo.instanceAddons(tx.db, instance.id));
      const toInstall: string[] = [];
      for (const name of install ?? []) {
        if (!catalog.has(name)) {
          note('install_addons', `module not found: ${name}`);
          continue;
        }
        // A module brings what it depends on.
        const closure: string[] = [];
        const visit = (n: string, seen: Set<string>) => {
          if (seen.has(n)) return;
          seen.add(n);
          for (const d of catalog.get(n)?.depends ?? []) visit(d, seen);
          closure.push(n);
        };
        visit(name, new Set());
        const refused = closure.filter((n) => !allowed(n));
        if (refused.length) {
          note('install_addons', `module not available in this plan: ${refused.join(', ')}`);
          continue;
        }
        for (const n of closure) if (!installed.has(n) && !toInstall.includes(n)) toInstall.push(n);
      }
      await repo.installAddons(tx.db, instance.id, toInstall, tx.clock());
      installed = new Set([...installed, ...toInstall]);
      const toRemove: string[] = [];
      for (const name of uninstall ?? []) {
        if (!catalog.has(name)) note('uninstall_addons', `module not found: ${name}`);
        else if (!installed.has(name)) note('uninstall_addons', `module not installed: ${name}`);
        else {
          const dependents = [...installed].filter((n) => n !== name && !toRemove.includes(n) && !(uninstall ?? []).includes(n) && (catalog.get(n)?.depends ?? []).includes(name));
          if (dependents.length) note('uninstall_addons', `${name} is required by ${dependents.sort().join(', ')}`);
          else toRemove.push(name);
        }
      }
      await repo.uninstallAddons(tx.db, instance.id, toRemove);
      if (toInstall.length || toRemove.length) {
        await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: instance.id, resellerId: null, before: { addons: [...installed].filter((n) => !toInstall.includes(n)).sort() }, after: { addons: [...installed].filter((n) => !toRemove.includes(n)).sort() } });
      }
    }

    // access groups
    const add = stringList(payload.access_owner_add);
    const remove = stringList(payload.access_remove);
    if (!add) note('access_owner_add', 'must be a list of group ids');
    if (!remove) note('access_remove', 'must be a list of group ids');
    const users = await repo.instanceUsers(tx.db, instance.id);
    const owner = users.find((u) => u.role === 'end_user') ?? users[0];
    const validAdd = (add ?? []).filter((g) => (Object.hasOwn(ACCESS_GROUPS, g) ? true : (note('access_owner_add', `group not found: ${g}`), false)));
    const validRemove = (remove ?? []).filter((g) => (Object.hasOwn(ACCESS_GROUPS, g) ? true : (note('access_remove', `group not found: ${g}`), false)));
    if (owner && validAdd.length) await repo.addUserGroups(tx.db, [owner.id], validAdd);
    if (validRemove.length) await repo.removeUserGroups(tx.db, users.map((u) => u.id), validRemove);
    if (validAdd.length || validRemove.length) {
      await recordAudit(tx, { action: 'client.updated', targetType: 'client', targetId: instance.id, resellerId: null, after: { access_owner_add: validAdd, access_remove: validRemove } });
    }
    return { [instance.name ?? target]: problems };
  });
}
