import path from 'node:path';
import { z } from 'zod';
import { WireObject } from '../core/nodes/agent-wire.schema.js';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';

/**
 * `<data dir>/state.json`: per object, the last desired object this node made true (kind, id,
 * version, state, spec), and the error of the last try when a newer one failed. It is what the
 * agent diffs the control plane's state against, and how it still knows what it serves (and what to
 * remove) when the control plane is down or forgot an object. Written atomically after every batch.
 */
const AppliedEntry = z.object({
  /** The object as last applied successfully; absent when it never was. */
  applied: WireObject.optional(),
  /** The newest version tried and its failure, while it keeps failing. */
  failed: z.object({ version: z.number().int().nonnegative(), error: z.string(), at: z.string() }).optional(),
});
export type AppliedEntry = z.infer<typeof AppliedEntry>;

const StateFileBody = z.object({
  format: z.literal(1),
  /** The control plane the objects came from. */
  url: z.string(),
  /** The version of the node's state the agent last caught up with. */
  version: z.number().int().nonnegative().nullable(),
  objects: z.record(z.string(), AppliedEntry),
});
export type StateFileBody = z.infer<typeof StateFileBody>;

export const objectKey = (o: { kind: string; id: string }) => `${o.kind}:${o.id}`;

export class StateFile {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'state.json');
  }

  /** What was applied; an unreadable file (never written by a crash, but by hand) counts as nothing applied, which a full re-apply repairs. */
  async load(url: string): Promise<{ body: StateFileBody; problem?: string }> {
    const empty: StateFileBody = { format: 1, url, version: null, objects: {} };
    let raw: unknown;
    try {
      raw = await readJsonFile(this.file);
    } catch (e) {
      return { body: empty, problem: `${this.file} unreadable (${(e as Error).message}); starting from nothing applied` };
    }
    if (raw === undefined) return { body: empty };
    const parsed = StateFileBody.safeParse(raw);
    if (!parsed.success) return { body: empty, problem: `${this.file} is not in the expected format; starting from nothing applied` };
    return { body: parsed.data };
  }

  save(body: StateFileBody): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(body), 0o600);
  }
}
