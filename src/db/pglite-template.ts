import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { migrationProvider } from './migrations/index.js';
import { distPath } from '../package-root.js';

/**
 * A new embedded data dir starts from a migrated, empty database the build wrote next to this module,
 * instead of running initdb and every migration on the operator's first start: initdb runs in a
 * second PostgreSQL instance inside the same process, which is most of the first start's time and
 * what doubled its memory. The template holds no data and no secret (those are per installation), and
 * migrations still run after it, so a template older than the migrations is caught up as usual.
 */
export const TEMPLATE_FILE = distPath('db', 'pglite-template.tar.gz');

interface TemplateMeta {
  /** The PGlite release that wrote it: another release may be another PostgreSQL catalog. */
  pglite: string;
  /** The last migration it holds. */
  migration: string;
}

const metaFile = (file: string) => `${file}.json`;

/** The installed PGlite's version, read from its package (its exports do not include package.json). */
export function pgliteVersion(): string {
  // Resolved as the server's own import of it is, from the bundle (CommonJS) or the modules (ES).
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (let i = 0; i < 3; i++, dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (!fs.existsSync(pkg)) continue;
    const { name, version } = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
    if (name === '@electric-sql/pglite' && version) return version;
  }
  throw new Error('cannot find the version of @electric-sql/pglite');
}

/** Writes the template and its description (the build calls this through pglite-template-export). */
export function writeTemplate(file: string, gzippedDump: Buffer, lastMigration: string): void {
  fs.writeFileSync(file, gzippedDump);
  const meta: TemplateMeta = { pglite: pgliteVersion(), migration: lastMigration };
  fs.writeFileSync(metaFile(file), JSON.stringify(meta) + '\n');
}

/**
 * Makes `dataDir` (an empty directory, held under the data dir lock) a copy of the template and returns
 * true; returns false, leaving it empty, when there is no usable template. The files are written with
 * Node's fs rather than through PGlite's loadDataDir, which copies them through its emulated file
 * system and cost more than a second on this machine; they land in a sibling directory renamed into
 * place at the end, so a start killed half-way leaves the data dir empty, never half made.
 */
export async function copyTemplateTo(dataDir: string, file = TEMPLATE_FILE): Promise<boolean> {
  const tar = await readTemplate(file);
  if (!tar) return false;
  const staging = `${dataDir}.template-tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    fs.mkdirSync(staging);
    untar(tar, staging);
    fs.rmdirSync(dataDir);
    fs.renameSync(staging, dataDir);
    return true;
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(dataDir, { recursive: true });
    throw e;
  }
}

/** The template's tar, or undefined when there is none or it does not fit this tree (see copyTemplateTo). */
export async function readTemplate(file = TEMPLATE_FILE): Promise<Buffer | undefined> {
  let meta: TemplateMeta;
  let gz: Buffer;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile(file), 'utf8')) as TemplateMeta;
    gz = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  const known = Object.keys(await migrationProvider.getMigrations());
  if (meta.pglite !== pgliteVersion() || !known.includes(meta.migration)) return undefined;
  return gunzipSync(gz);
}

const field = (block: Buffer, start: number, length: number) => {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? length : end).toString('utf8');
};

/** The ustar archive PGlite's dumpDataDir writes: directories and regular files, nothing else. */
export function untar(tar: Buffer, into: string): void {
  const root = path.resolve(into);
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    if (!field(header, 257, 6).startsWith('ustar')) throw new Error('the embedded database template is not a ustar archive');
    const name = [field(header, 345, 155), field(header, 0, 100)].filter(Boolean).join('/');
    const size = parseInt(field(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    // Rooted before normalizing, so no name (`..` included) can reach outside the data dir.
    const target = path.join(root, path.posix.normalize(`/${name}`));
    at += 512;
    if (type === '5') fs.mkdirSync(target, { recursive: true });
    else if (type === '0') {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, tar.subarray(at, at + size));
    } else throw new Error(`template entry of type ${type}: ${name}`);
    at += Math.ceil(size / 512) * 512;
  }
}
