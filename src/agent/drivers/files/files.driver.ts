import fs from 'node:fs';
import path from 'node:path';
import type { WireObject } from '../../../core/nodes/agent-wire.schema.js';
import { writeFileAtomic } from '../../atomic-file.js';
import type { ObjectResultT, RoleDriver, UsageSampleT } from '../../role-driver.js';

/**
 * The web role without a web server: each present site is its spec as `<dir>/<id>.json`, an absent one
 * is no file. It lets the agent run where nginx is not installed (a dry run: what this node would
 * serve) and tests exercise the loop against a real file system. Counts its writes, so a test can see
 * that applying the same state twice rewrites nothing.
 */
export class FilesDriver implements RoleDriver {
  readonly role = 'web' as const;
  readonly kinds = ['site'] as const satisfies readonly WireObject['kind'][];
  writes = 0;
  removals = 0;
  batches = 0;

  constructor(readonly dir: string) {}

  async start(): Promise<void> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o755 });
  }

  async apply(objects: WireObject[]): Promise<ObjectResultT[]> {
    this.batches++;
    const results: ObjectResultT[] = [];
    for (const o of objects) {
      const file = path.join(this.dir, `${o.id}.json`);
      try {
        if (!/^[a-z][a-z0-9]{0,63}$/.test(o.id)) throw new Error('object id is not a plain name');
        if (o.state === 'present') {
          const content = JSON.stringify(o.spec, null, 2) + '\n';
          const current = await fs.promises.readFile(file, 'utf8').catch(() => undefined);
          if (current !== content) {
            await writeFileAtomic(file, content, 0o644);
            this.writes++;
          }
        } else if (fs.existsSync(file)) {
          await fs.promises.rm(file);
          this.removals++;
        }
        results.push({ kind: o.kind, id: o.id, version: o.version, ok: true });
      } catch (e) {
        results.push({ kind: o.kind, id: o.id, version: o.version, ok: false, error: (e as Error).message });
      }
    }
    return results;
  }

  async observe(): Promise<UsageSampleT[]> {
    const at = new Date().toISOString();
    const names = await fs.promises.readdir(this.dir).catch(() => [] as string[]);
    const samples: UsageSampleT[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const st = await fs.promises.stat(path.join(this.dir, name)).catch(() => undefined);
      if (st) samples.push({ kind: 'site', id: name.slice(0, -5), at, storageBytes: st.size, transferBytes: 0 });
    }
    return samples;
  }

  async health(): Promise<{ ok: boolean; error?: string }> {
    try {
      await fs.promises.access(this.dir, fs.constants.W_OK);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: `${this.dir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
    }
  }

  async stop(): Promise<void> {}
}
