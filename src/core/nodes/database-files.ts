import { AppError } from '../../errors/app-error.js';
import type { Ctx } from '../context.js';
import { findStagedFileForNode, markFilesMoved } from './database-files.repository.js';
import { syncDatabaseObjects } from './database-objects.js';

// Files moving from Hostplane's instance_files into an instance database's ir_attachment (docs/adr/
// 0027, addendum). The database's spec names the staged files; the node holding the database
// fetches each one's content here, inserts it, and names in its status result the files the
// database holds; their content is then cleared here and the spec no longer lists them.

const FILE_ID = /^[1-9][0-9]{0,17}$/;

/**
 * The content of a staged file, for the node holding its instance's database only. Every other case
 * (another node, a moved file, an id that is no id) is the same "not found", so a node learns
 * nothing of files that are not its own.
 */
export async function readStagedFile(ctx: Ctx, nodeId: number, rawId: unknown): Promise<Buffer> {
  const id = typeof rawId === 'string' && FILE_ID.test(rawId) ? Number(rawId) : NaN;
  const file = Number.isSafeInteger(id) ? await findStagedFileForNode(ctx.db, nodeId, id) : undefined;
  if (!file) throw AppError.notFound(`file ${String(rawId).slice(0, 40)}`);
  return file.content;
}

/**
 * Records the files the node's databases now hold (their status results' `files`), in the status
 * report's transaction: content cleared, and the objects rewritten without them (the next staged
 * files, if any, take their place).
 */
export async function recordHeldFiles(tx: Ctx, nodeId: number, results: readonly { kind: string; id: string; files?: number[] | undefined }[]): Promise<number> {
  const held = results.filter((r) => r.kind === 'database' && r.files?.length).flatMap((r) => r.files!.map((fileId) => ({ objectId: r.id, fileId })));
  const moved = await markFilesMoved(tx.db, nodeId, held, tx.clock());
  if (moved.length) await syncDatabaseObjects(tx, moved);
  return moved.length;
}
