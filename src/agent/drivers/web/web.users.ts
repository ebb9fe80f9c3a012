/**
 * Site system users, when the agent runs as root. A user counts as the site's only when its passwd
 * entry's home is the site's home: a name that already belongs to someone else (`root`, `www-data`,
 * an operator's account) is refused, never taken over, chowned to or deleted.
 */
import fs from 'node:fs/promises';
import { run } from './web.processes.js';

/**
 * Ids of site users and their groups. Debian's system range (100-999) holds fewer than 900 accounts,
 * far from a node's thousands of sites; this range lies above the login users' (1000-60000, and
 * nobody's 65534) and below the subordinate ids Debian hands out from 100000 for user namespaces,
 * which must never map onto a site's files.
 */
export const SITE_ID_RANGE = { min: 70_000, max: 99_999 };

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export async function readPasswd(file = '/etc/passwd'): Promise<Map<string, PasswdEntry>> {
  const entries = new Map<string, PasswdEntry>();
  const text = await fs.readFile(file, 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7) continue;
    entries.set(f[0]!, { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return entries;
}

export type EnsureUserResult = { ok: true; entry: PasswdEntry } | { ok: false; error: string };

/** Creates the site's system user unless it exists (idempotent); `passwd` is updated in place. */
export async function ensureSiteUser(name: string, home: string, passwd: Map<string, PasswdEntry>): Promise<EnsureUserResult> {
  const existing = passwd.get(name);
  if (existing) {
    if (existing.home !== home) return { ok: false, error: `system user ${name} already exists with home ${existing.home}; refusing to use it for this site` };
    return { ok: true, entry: existing };
  }
  const ids = [`SYS_UID_MIN=${SITE_ID_RANGE.min}`, `SYS_UID_MAX=${SITE_ID_RANGE.max}`, `SYS_GID_MIN=${SITE_ID_RANGE.min}`, `SYS_GID_MAX=${SITE_ID_RANGE.max}`].flatMap((k) => ['-K', k]);
  const r = await run('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', ...ids, name]);
  if (r.code !== 0) return { ok: false, error: `useradd ${name} failed: ${(r.stderr || r.stdout).trim().slice(0, 500)}` };
  const fresh = (await readPasswd()).get(name);
  if (!fresh) return { ok: false, error: `useradd ${name} reported success but the user is missing` };
  passwd.set(name, fresh);
  return { ok: true, entry: fresh };
}

/** Removes the site's user (and its group) if it is ours; a missing user is already the goal. */
export async function removeSiteUser(name: string, home: string, passwd: Map<string, PasswdEntry>): Promise<{ ok: true } | { ok: false; error: string }> {
  const existing = passwd.get(name);
  if (!existing || existing.home !== home) return { ok: true };
  const r = await run('userdel', [name]);
  // 6: the user does not exist (removed meanwhile).
  if (r.code !== 0 && r.code !== 6) return { ok: false, error: `userdel ${name} failed: ${(r.stderr || r.stdout).trim().slice(0, 500)}` };
  passwd.delete(name);
  return { ok: true };
}

/** Who nginx's workers run as when the master is root: Debian's www-data, else nobody. */
export function workerAccount(passwd: Map<string, PasswdEntry>): { user: string; group: string } {
  return passwd.has('www-data') ? { user: 'www-data', group: 'www-data' } : { user: 'nobody', group: 'nogroup' };
}

/** A group's gid from /etc/group, or null when there is no such group. */
export async function groupId(name: string, file = '/etc/group'): Promise<number | null> {
  for (const line of (await fs.readFile(file, 'utf8')).split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 3) return Number(f[2]);
  }
  return null;
}
