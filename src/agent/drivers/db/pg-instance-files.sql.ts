import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { InstanceFileSpec } from '../../../core/nodes/agent-wire.schema.js';
import { columnsOf, hasTable, insertLike, type Column } from './pg-instance-users.sql.js';

// Files moving from the control plane into an instance database's ir_attachment (docs/adr/0027,
// addendum). A row is made as Odoo's own create() makes one with database storage: the bytes in
// `db_datas` with `store_fname` NULL (Odoo then reads them from the row, whatever its filestore),
// `file_size`, `checksum` (SHA-1 hex of the bytes), `mimetype`, `type` 'binary', `index_content` for
// text, no owning record (res_model/res_id NULL: Odoo shows it to its administrators), created by the
// instance's admin user in its company. Required columns the template adds with no default are
// copied from an existing attachment, as for res_users. Each file is marked with the external id
// `hostplane.instance_file_<id>` (ir_model_data, Odoo's own way of naming records made from outside),
// or where a template has no ir_model_data, its description; a file found marked is not inserted again.

const MODULE = 'hostplane';
const markerName = (id: number) => `instance_file_${id}`;
const markerText = (id: number) => `hostplane:instance_file:${id}`;

/** Odoo's index_content: for text types only, the runs of 4 or more printable ASCII characters. */
function indexContent(bytes: Buffer, mimetype: string): string | null {
  if (!mimetype.startsWith('text/')) return null;
  return (bytes.toString('latin1').match(/[\x20-\x7E]{4,}/g) ?? []).join('\n');
}

type Marker = { kind: 'imd'; cols: Map<string, Column> } | { kind: 'description' };

async function markerOf(c: pg.Client, attachmentCols: Map<string, Column>): Promise<Marker | undefined> {
  if (await hasTable(c, 'ir_model_data')) {
    const cols = await columnsOf(c, 'ir_model_data');
    if (['module', 'name', 'model', 'res_id'].every((k) => cols.has(k))) return { kind: 'imd', cols };
  }
  return attachmentCols.has('description') ? { kind: 'description' } : undefined;
}

/** The files among `ids` the database already holds (marked and their row still there). */
async function heldIds(c: pg.Client, marker: Marker, ids: number[]): Promise<Set<number>> {
  const { rows } =
    marker.kind === 'imd'
      ? await c.query<{ id: string }>(
          `select substr(d.name, ${markerName(0).length}) as id from ir_model_data d join ir_attachment a on a.id = d.res_id
           where d.module = $1 and d.model = 'ir.attachment' and d.name = any($2::text[])`,
          [MODULE, ids.map(markerName)],
        )
      : await c.query<{ id: string }>(`select substr(description, ${markerText(0).length}) as id from ir_attachment where description = any($1::text[])`, [ids.map(markerText)]);
  return new Set(rows.map((r) => Number(r.id)));
}

export interface AppliedFiles {
  /** Ids of the listed files the database holds now. */
  held: number[];
  /** Why the others are not there (fetch or check failed); empty when all are. */
  errors: string[];
}

/**
 * Makes the database's ir_attachment hold `files`, fetching the content of each one it lacks. Each
 * insert is its own transaction, under an advisory lock on the file id with the marker checked again
 * inside, so a retry or a second apply inserts nothing twice. A database without ir_attachment (or
 * without the columns Odoo keeps content in) holds none: the files wait in the control plane.
 */
export async function applyInstanceFiles(c: pg.Client, files: readonly InstanceFileSpec[], fetchFile: ((id: number) => Promise<Buffer>) | undefined): Promise<AppliedFiles> {
  const out: AppliedFiles = { held: [], errors: [] };
  if (files.length === 0 || !(await hasTable(c, 'ir_attachment'))) return out;
  const cols = await columnsOf(c, 'ir_attachment');
  if (!['id', 'name', 'db_datas'].every((k) => cols.has(k))) return { held: [], errors: ['ir_attachment has no id, name or db_datas column: files cannot be stored in it'] };
  const marker = await markerOf(c, cols);
  if (!marker) return { held: [], errors: ['ir_attachment has neither ir_model_data nor a description column to mark the files Hostplane stored'] };

  const already = await heldIds(c, marker, files.map((f) => f.id));
  const missing = files.filter((f) => !already.has(f.id));
  out.held.push(...files.filter((f) => already.has(f.id)).map((f) => f.id));
  if (missing.length === 0) return out;
  if (!fetchFile) return { ...out, errors: ['this agent cannot fetch files from the control plane'] };

  const userCols = (await hasTable(c, 'res_users')) ? await columnsOf(c, 'res_users') : new Map<string, Column>();
  const owner = userCols.has('login')
    ? (await c.query<{ id: number; company_id: number | null }>(`select id, ${userCols.has('company_id') ? 'company_id' : 'null::int as company_id'} from res_users where login = 'admin' limit 1`)).rows[0]
    : undefined;
  const model = (await c.query<{ id: number }>('select min(id) as id from ir_attachment')).rows[0]?.id ?? null;

  for (const f of missing) {
    let bytes: Buffer;
    try {
      bytes = await fetchFile(f.id);
    } catch (e) {
      out.errors.push(`file ${f.id}: ${(e as Error).message}`);
      continue;
    }
    if (bytes.length !== f.size || createHash('sha256').update(bytes).digest('hex') !== f.sha256) {
      out.errors.push(`file ${f.id}: the content fetched does not match its size and sha256`);
      continue;
    }
    const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
    await c.query('begin');
    try {
      await c.query("select pg_advisory_xact_lock(hashtextextended('hostplane.instance_file.' || $1::text, 0))", [f.id]);
      if (!(await heldIds(c, marker, [f.id])).has(f.id)) {
        const values: Record<string, unknown> = {
          name: f.name,
          type: 'binary',
          db_datas: bytes,
          store_fname: null,
          file_size: bytes.length,
          checksum: createHash('sha1').update(bytes).digest('hex'),
          mimetype: f.mimetype,
          index_content: indexContent(bytes, f.mimetype),
          res_model: null,
          res_id: null,
          public: false,
          ...(owner ? { create_uid: owner.id, write_uid: owner.id, ...(owner.company_id != null ? { company_id: owner.company_id } : {}) } : {}),
          create_date: now,
          write_date: now,
          ...(marker.kind === 'description' ? { description: markerText(f.id) } : {}),
        };
        const attachmentId = await insertLike(c, 'ir_attachment', cols, values, model);
        if (marker.kind === 'imd') {
          // A marker left by an attachment removed behind Odoo's back would block the new one.
          await c.query('delete from ir_model_data where module = $1 and name = $2', [MODULE, markerName(f.id)]);
          const modelData = (await c.query<{ id: number }>('select min(id) as id from ir_model_data')).rows[0]?.id ?? null;
          await insertLike(
            c,
            'ir_model_data',
            marker.cols,
            { module: MODULE, name: markerName(f.id), model: 'ir.attachment', res_id: attachmentId, noupdate: true, create_date: now, write_date: now, ...(owner ? { create_uid: owner.id, write_uid: owner.id } : {}) },
            modelData,
          );
        }
      }
      await c.query('commit');
      out.held.push(f.id);
    } catch (e) {
      await c.query('rollback').catch(() => undefined);
      out.errors.push(`file ${f.id}: ${(e as Error).message}`);
    }
  }
  return out;
}
