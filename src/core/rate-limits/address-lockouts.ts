import { isIP } from 'node:net';
import { AppError } from '../../errors/app-error.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { SIGNUP_FAILURE_RULE } from '../resellers/reseller.service.js';
import * as repo from './rate-limit.repository.js';
import { addressBucket, FAILED_LOGINS_PER_ADDRESS, signupCaptchaBucket, type RateLimitRule } from './rate-limit.service.js';

// ApisCP's Rampart (`rampart:is-banned`, `banned-services`, `unban`) over Hostplane's own brute-force
// protection: the failed-attempt buckets keyed on the caller's address. Billing modules ask on every
// client-area page whether the visitor's address is banned, and lift the ban.
//
// Services ("jails") and the guard behind each:
// - operator-login  operator sign-in (admin console)          ┐
// - client-login    site and instance users, client owners    │ one bucket per address:
// - hsp-login       reseller sign-in (login or API token)     │ FAILED_LOGINS_PER_ADDRESS,
// - crm-login       end users' sign-in on the CRM door        │ so a locked-out address is
// - odoo            Odoo RPC authenticate and calls           ┘ locked out of all five at once
// - reseller-signup wrong captcha answers on the reseller sign-up form (SIGNUP_FAILURE_RULE)
// Lockouts of one account (too many wrong passwords for a login, from any address) are not an
// address's ban: they are not reported here and unban leaves them.

interface Guard {
  bucket: (ip: string) => string;
  rule: RateLimitRule;
  services: readonly string[];
}

const GUARDS: readonly Guard[] = [
  { bucket: (ip) => addressBucket(ip), rule: FAILED_LOGINS_PER_ADDRESS, services: ['operator-login', 'client-login', 'hsp-login', 'crm-login', 'odoo'] },
  { bucket: signupCaptchaBucket, rule: SIGNUP_FAILURE_RULE, services: ['reseller-signup'] },
];

/** Every service name, in the order banned-services lists them. */
export const LOCKOUT_SERVICES: readonly string[] = GUARDS.flatMap((g) => g.services);

/**
 * The spellings a request's address may have been counted under: the address as a socket reports
 * it (IPv6 in its compressed lower-case form) and, for IPv4, its IPv4-mapped IPv6 form.
 */
function spellings(ip: string): string[] {
  if (isIP(ip) === 4) return [ip, `::ffff:${ip}`];
  const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return [...new Set([canonical, ip.toLowerCase(), ...(mapped ? [mapped[1]!] : [])])];
}

/** An address as given: an IPv4 or IPv6 address, else ApisCP's refusal; none given means the caller's own. */
function addressOf(ctx: Ctx, raw: unknown): string {
  const ip = raw === undefined || raw === null || raw === '' ? ctx.ip : raw;
  if (typeof ip !== 'string' || ip.length > 64 || isIP(ip) === 0) {
    const shown = typeof ip === 'string' ? (ip.length > 64 ? `${ip.slice(0, 64)}…` : ip) : typeof ip;
    const why = `invalid IP address \`${shown}'`;
    throw AppError.validation({ base: [why] }, why);
  }
  return ip;
}

/** The guards a service name selects (all of them for none); an unknown name is refused. */
function guardsFor(service: unknown): readonly Guard[] {
  if (service === undefined || service === null || service === '') return GUARDS;
  const found = typeof service === 'string' ? GUARDS.filter((g) => g.services.includes(service)) : [];
  if (!found.length) {
    const why = `unknown service (jail); known: ${LOCKOUT_SERVICES.join(', ')}`;
    throw AppError.validation({ jail: [why] }, `jail: ${why}`);
  }
  return found;
}

function requireOperator(ctx: Ctx): void {
  if (ctx.actor.kind !== 'operator' && ctx.actor.kind !== 'system') throw new AppError('forbidden', 'only an administrator may see or lift address bans');
}

/** The services the address is locked out of now (its failed attempts reached the limit in an open window). */
export async function lockedOutServices(ctx: Ctx, input: { ip?: unknown; service?: unknown }): Promise<string[]> {
  requireOperator(ctx);
  const ip = addressOf(ctx, input.ip);
  const guards = guardsFor(input.service);
  const names = spellings(ip);
  const open = await repo.findOpenWindows(
    ctx.db,
    guards.flatMap((g) => names.map(g.bucket)),
    ctx.clock(),
  );
  const full = new Set(open.filter((w) => guards.some((g) => names.some((n) => g.bucket(n) === w.bucket) && w.hits >= g.rule.limit)).map((w) => w.bucket));
  const out = guards.filter((g) => names.some((n) => full.has(g.bucket(n)))).flatMap((g) => g.services);
  return input.service ? out.filter((s) => s === input.service) : out;
}

export async function isAddressLockedOut(ctx: Ctx, input: { ip?: unknown; service?: unknown }): Promise<boolean> {
  return (await lockedOutServices(ctx, input)).length > 0;
}

/**
 * Forgets the address's failed attempts (behind one service, or all of them), so it may sign in
 * again at once. Audited whenever it lifted something; returns true like ApisCP's unban. A service
 * sharing its counter with others (the sign-ins) lifts them together.
 */
export async function liftAddressLockout(ctx: Ctx, input: { ip?: unknown; service?: unknown }): Promise<boolean> {
  requireOperator(ctx);
  const ip = addressOf(ctx, input.ip);
  const guards = guardsFor(input.service);
  const names = spellings(ip);
  await inTransaction(ctx, async (tx) => {
    const now = tx.clock();
    const banned = await lockedOutServices(tx, { ip });
    const cleared = await repo.deleteBuckets(
      tx.db,
      guards.flatMap((g) => names.map(g.bucket)),
      now,
    );
    if (cleared.length === 0) return;
    const lifted = guards.flatMap((g) => g.services).filter((s) => banned.includes(s));
    await recordAudit(tx, { action: 'address.unbanned', targetType: 'address', targetId: names[0]!, resellerId: null, before: { banned: lifted }, after: { banned: [], cleared: guards.flatMap((g) => g.services) } });
  });
  return true;
}
