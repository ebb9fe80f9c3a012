/**
 * Site homes: `<dataDir>/sites/<name>/` with `public_html/` (the site's files), `logs/` (nginx's
 * access log) and, for PHP sites, `tmp/` (PHP's uploads and sessions).
 *
 * As root, the home itself and `logs/` stay root's and only `public_html/` and `tmp/` belong to the
 * site's user: a user who could rename entries of the home or of `logs/` could point the access log
 * at another file. nginx's workers open the log when they write to it (its name has a variable, see
 * nginx.config.ts), so `access.log` is made here, root's with the workers' group, mode 0660.
 */
import fss from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { exists, utcStamp } from './web.files.js';
import { run } from './web.processes.js';

export const DEFAULT_INDEX = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Welcome</title></head>
<body><h1>It works</h1><p>This site is hosted here; its files go in public_html.</p></body>
</html>
`;

export const homePaths = (home: string) => ({
  publicHtml: path.join(home, 'public_html'),
  tmp: path.join(home, 'tmp'),
  logs: path.join(home, 'logs'),
  accessLog: path.join(home, 'logs', 'access.log'),
});

/** What a listing of the sites' directory already says about a home: whether it exists, whether a home built aside was left there. */
export interface HomeHint {
  exists: boolean;
  aside: boolean;
}

/**
 * Creates what is missing of a home (idempotent); the default index only with a new public_html.
 * `owner` (as root): the site's user, and the group of nginx's workers. `public_html/` is the user's
 * with that group and mode 2750 (new entries keep the group): nginx reads it, other sites' users
 * (their PHP, their shell commands) cannot even list it. `tmp/` is the user's alone. `hint`, when
 * the caller listed the sites' directory, saves asking the file system again.
 */
export async function ensureHome(home: string, owner: { uid: number; gid: number; webGid: number } | null, php: boolean, hint: HomeHint | null = null): Promise<void> {
  const p = homePaths(home);
  if (!(hint ? hint.exists : exists(home))) {
    newHome(home, owner, php, hint ? hint.aside : true);
    return;
  }
  // The steady state (every object again after a restart) costs three existence checks (and, as
  // root, a stat of the log).
  if (!exists(p.logs)) fss.mkdirSync(p.logs, { recursive: true, mode: 0o755 });
  // Not as root, the workers are the agent's user and make the log themselves on their first write.
  if (owner) ensureAccessLog(p.accessLog, owner);
  if (!exists(p.publicHtml)) {
    // Built aside and renamed in, so a crash never leaves a public_html without its index.
    const fresh = path.join(home, `.public_html.${process.pid}.new`);
    fss.rmSync(fresh, { recursive: true, force: true });
    makePublicHtml(fresh, owner);
    fss.renameSync(fresh, p.publicHtml);
  } else if (owner) {
    await ownTree(p.publicHtml, { uid: owner.uid, gid: owner.webGid });
  }
  // Only PHP writes temp files; a directory less per site is a tenth of a new site's cost.
  if (!php) return;
  if (!exists(p.tmp)) fss.mkdirSync(p.tmp, { mode: 0o700 });
  if (owner) await ownTree(p.tmp, owner);
}

/**
 * A site's first home, whole or not at all: built aside (logs, public_html with its index, as root
 * the access log, for PHP tmp, each owned as above) and renamed in, with no question to the file
 * system on the way: about half the file operations of making each part after checking for it. One
 * driver owns the sites' directory, so the aside name needs no pid; a leftover of a crash (`aside`)
 * is cleared first.
 */
function newHome(home: string, owner: { uid: number; gid: number; webGid: number } | null, php: boolean, aside: boolean): void {
  const fresh = path.join(path.dirname(home), `.${path.basename(home)}.new`);
  if (aside) fss.rmSync(fresh, { recursive: true, force: true });
  fss.mkdirSync(fresh, { mode: 0o755 });
  fss.mkdirSync(path.join(fresh, 'logs'), { mode: 0o755 });
  if (owner) createAccessLog(path.join(fresh, 'logs', 'access.log'), owner);
  makePublicHtml(path.join(fresh, 'public_html'), owner);
  if (php) {
    fss.mkdirSync(path.join(fresh, 'tmp'), { mode: 0o700 });
    if (owner) fss.chownSync(path.join(fresh, 'tmp'), owner.uid, owner.gid);
  }
  fss.renameSync(fresh, home);
}

/** A new public_html with the default index; as root, the site user's with the workers' group, 2750. */
function makePublicHtml(dir: string, owner: { uid: number; webGid: number } | null): void {
  fss.mkdirSync(dir, { mode: 0o755 });
  fss.writeFileSync(path.join(dir, 'index.html'), DEFAULT_INDEX, { mode: 0o644 });
  if (!owner) return;
  fss.chownSync(path.join(dir, 'index.html'), owner.uid, owner.webGid);
  fss.chownSync(dir, owner.uid, owner.webGid);
  fss.chmodSync(dir, 0o2750);
}

/** The access log, writable by nginx's workers; a log of an older layout (root's alone) is handed to them. */
function ensureAccessLog(file: string, owner: { webGid: number }): void {
  const st = fss.lstatSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw new Error(`${file} is not a regular file; refusing to use it`);
  if (!st) createAccessLog(file, owner);
  else if (st.uid !== 0 || st.gid !== owner.webGid || (st.mode & 0o777) !== 0o660) {
    fss.chownSync(file, 0, owner.webGid);
    fss.chmodSync(file, 0o660);
  }
}

/** A new access log: root's, with the workers' group, 0660 (chmod, as the umask may have taken the group's write). */
function createAccessLog(file: string, owner: { webGid: number }): void {
  fss.writeFileSync(file, '', { flag: 'a', mode: 0o660 });
  fss.chownSync(file, 0, owner.webGid);
  fss.chmodSync(file, 0o660);
}

/**
 * A user deleted and created again gets another uid: the site's files follow it. Only when the top
 * directory's owner differs, so a steady state costs one lstat. `chown -h -R` never follows links.
 */
async function ownTree(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  const st = fss.lstatSync(dir);
  if (st.isSymbolicLink()) throw new Error(`${dir} is a symbolic link; refusing to use it`);
  if (st.uid === owner.uid && st.gid === owner.gid) return;
  const r = await run('chown', ['-h', '-R', `${owner.uid}:${owner.gid}`, dir]);
  if (r.code !== 0) throw new Error(`chown of ${dir} failed: ${r.stderr.trim().slice(0, 300)}`);
  // chown clears the setgid bit of the top directory.
  if (path.basename(dir) === 'public_html') fss.chmodSync(dir, 0o2750);
}

/**
 * `<archives>/<name>-<UTC stamp>.tar.gz` of the home, written aside and renamed in when complete, so
 * an archive that exists is whole. Uses Debian's tar (no tar package is among our dependencies).
 * Returns null when there is no home to archive.
 */
export async function archiveHome(sitesDir: string, name: string, archivesDir: string, at: Date): Promise<string | null> {
  const home = path.join(sitesDir, name);
  if (!(exists(home))) return null;
  await fs.mkdir(archivesDir, { recursive: true, mode: 0o700 });
  let target = path.join(archivesDir, `${name}-${utcStamp(at)}.tar.gz`);
  for (let n = 1; exists(target); n++) target = path.join(archivesDir, `${name}-${utcStamp(at)}-${n}.tar.gz`);
  const temp = path.join(archivesDir, `.${path.basename(target)}.${process.pid}.tmp`);
  const r = await run('tar', ['--create', '--gzip', '--file', temp, '--numeric-owner', '--directory', sitesDir, '--', name], 30 * 60_000);
  // tar's 1 means "some files changed while being read": the archive is still whole.
  if (r.code !== 0 && r.code !== 1) {
    await fs.rm(temp, { force: true });
    throw new Error(`archiving ${home} failed: ${r.stderr.trim().slice(0, 500)}`);
  }
  await fs.rename(temp, target);
  return target;
}

export async function removeHome(home: string): Promise<void> {
  // fs.rm never follows symbolic links inside the tree.
  await fs.rm(home, { recursive: true, force: true });
}
