import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import type { CheckResult } from './doctor.js';

const mode = (m: number) => `0${(m & 0o777).toString(8)}`;

function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Writes and removes a file: access(2) would say yes to root whatever the mode, and says nothing of a
 * read-only mount or a full disk, which is what the relay job would meet.
 */
function canWrite(dir: string): string | undefined {
  const probe = path.join(dir, `.hostplane-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    fs.writeFileSync(probe, 'probe', { flag: 'wx', mode: 0o600 });
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}

/** The relay driver's output: postfix-maps needs a writable <data dir>/relay; http needs nothing local. */
export function checkRelay(config: Config): CheckResult {
  if (config.relayDriver === 'http') {
    const url = new URL(config.relayHttpUrl!);
    return { check: 'relay', status: 'ok', message: `http driver: changes are POSTed to ${url.origin}${url.pathname} (not contacted by doctor)` };
  }
  const dir = path.join(config.dataDir, 'relay');
  const st = statOf(dir);
  if (st && !st.isDirectory()) return { check: 'relay', status: 'fail', message: `${dir} is not a directory: the postfix-maps driver writes its map files there` };
  if (st) {
    const err = canWrite(dir);
    if (err) return { check: 'relay', status: 'fail', message: `${dir} is not writable (${err}): relay jobs will fail until it is` };
    return withReload(config, { check: 'relay', status: 'ok', message: `postfix-maps in ${dir}: writable` });
  }
  // Not there yet: the first relay job creates it, so the nearest existing parent must take it.
  let parent = path.dirname(dir);
  while (!statOf(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  const pst = statOf(parent);
  if (!pst?.isDirectory()) return { check: 'relay', status: 'fail', message: `${dir} cannot be created: ${parent} is not a directory` };
  const err = canWrite(parent);
  if (err) return { check: 'relay', status: 'fail', message: `${dir} does not exist and cannot be created in ${parent} (${err})` };
  return withReload(config, { check: 'relay', status: 'ok', message: `postfix-maps in ${dir}: not created yet, the first relay job creates it (${parent} is writable)` });
}

/** The reload command's program, when it is a plain word or path, must exist; a shell construct is not second-guessed. */
function withReload(config: Config, result: CheckResult): CheckResult {
  const program = config.relayReloadCommand?.trim().split(/\s+/)[0];
  if (!program || !/^[\w./-]+$/.test(program)) return result;
  const dirs = program.includes('/') ? [''] : (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const found = dirs.some((d) => {
    try {
      fs.accessSync(d ? path.join(d, program) : path.resolve(program), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found) return result;
  return { check: 'relay', status: 'warn', message: `${result.message}; but the reload command's program ${program} is not found${program.includes('/') ? '' : ' on PATH'}` };
}

/**
 * Modes of what must stay private: the data dir (the embedded database's files are inside) and the
 * files holding keys and credentials. Other users able to read a key file: fail; group access, or a
 * data dir others can open: warn. What is inside a private data dir is out of reach whatever its own
 * mode, so only the data dir's mode is judged for the database files.
 */
export function checkPermissions(config: Config, files: { configFile?: string | undefined; tlsKeyFile?: string | undefined }): CheckResult[] {
  const out: CheckResult[] = [];
  const st = statOf(config.dataDir);
  const dir = config.dataDir;
  if (!st) out.push({ check: 'permissions', status: 'ok', message: `data dir ${dir}: not created yet (the first start creates it, mode 0700)` });
  else if (!st.isDirectory()) out.push({ check: 'permissions', status: 'fail', message: `data dir ${dir} is not a directory` });
  else if (st.mode & 0o002) out.push({ check: 'permissions', status: 'fail', message: `data dir ${dir}: mode ${mode(st.mode)}, anyone may write into it; chmod 700 ${dir}` });
  else if (st.mode & 0o077) {
    // Others may enter it: whatever inside is readable by them too (the embedded database's files are) is exposed.
    const pgdata = path.join(dir, 'pgdata');
    const inner = config.databaseUrl ? undefined : statOf(pgdata);
    const exposed = inner && inner.mode & 0o055 && st.mode & 0o011 ? `; the embedded database in it is mode ${mode(inner.mode)}` : '';
    out.push({ check: 'permissions', status: 'warn', message: `data dir ${dir}: mode ${mode(st.mode)}, other users may read what it holds${exposed}; chmod 700 ${dir}` });
  } else out.push({ check: 'permissions', status: 'ok', message: `data dir ${dir}: mode ${mode(st.mode)}` });

  const secrets: { file: string; what: string }[] = [
    { file: path.join(config.dataDir, 'operator-key'), what: 'operator key' },
    ...(config.masterKey ? [] : [{ file: path.join(config.dataDir, 'master-key'), what: 'master key' }]),
    ...retiredKeyFiles(config.dataDir).map((file) => ({ file, what: 'retired master key' })),
    { file: path.join(config.dataDir, 'demo-reseller.json'), what: 'demo credentials' },
    ...(files.tlsKeyFile ? [{ file: path.resolve(files.tlsKeyFile), what: 'TLS private key' }] : []),
    ...(files.configFile ? [{ file: files.configFile, what: 'config file' }] : []),
  ];
  for (const { file, what } of secrets) {
    const st = statOf(file);
    if (!st) {
      if (what === 'operator key' || what === 'master key') out.push({ check: 'permissions', status: 'ok', message: `${what} ${file}: not created yet (the first start writes it, mode 0600)` });
      continue;
    }
    if (st.mode & 0o006) out.push({ check: 'permissions', status: 'fail', message: `${what} ${file}: mode ${mode(st.mode)}, other users may read or change it; chmod 600 ${file}` });
    else if (st.mode & 0o060) out.push({ check: 'permissions', status: 'warn', message: `${what} ${file}: mode ${mode(st.mode)}, its group may read it; chmod 600 ${file}` });
    else out.push({ check: 'permissions', status: 'ok', message: `${what} ${file}: mode ${mode(st.mode)}` });
  }
  return out;
}

function retiredKeyFiles(dataDir: string): string[] {
  try {
    return fs
      .readdirSync(dataDir)
      .filter((n) => n.startsWith('master-key.retired-'))
      .map((n) => path.join(dataDir, n));
  } catch {
    return [];
  }
}
