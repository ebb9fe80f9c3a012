import fs from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/*
 * Longest files first, from both projects at once, so the run does not end with one worker busy on a
 * long file while the other has nothing left. Vitest's own order (longest first by the durations it
 * cached) needs a previous run on the same machine, which CI never has; without one it sorts by file
 * size and runs all of the pglite project before the postgres one, so a long postgres file could come
 * last. The weights below are seconds one file took on the embedded database, measured on a busy
 * two-core machine: only their order matters. A file not listed weighs by its size, as Vitest does.
 * A file's postgres run is weighed the same as its pglite run.
 */
const SLOW_FILES: Record<string, number> = {
  'test/security/secrets-at-rest.test.ts': 355,
  'test/security/secrets-rotation.test.ts': 331,
  'test/security/idempotency-crash.test.ts': 258,
  'test/cli/jobs.test.ts': 161,
  'test/security/login-burst-odoo.test.ts': 138,
  'test/jobs-process/worker-lane.test.ts': 102,
  'test/cli/serve.test.ts': 99,
  'test/security/db-faults.test.ts': 82,
  'test/apiscp/billing-modules.test.ts': 79,
  'test/jobs-process/crash-recovery.test.ts': 61,
  'test/security/login-burst.test.ts': 60,
  'test/apiscp/billing-modules-blesta.test.ts': 44,
  'test/apiscp/billing-modules-clientexec.test.ts': 30,
};

/** Bytes of source per second of run time, for files without a measured weight (a rough guess on purpose). */
const BYTES_PER_SECOND = 1000;

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const weight = new Map<TestSpecification, number>();
    for (const spec of files) {
      const rel = path.relative(root, spec.moduleId).split(path.sep).join('/');
      let size = 0;
      try {
        size = fs.statSync(spec.moduleId).size;
      } catch {
        // a file that vanished sorts last; Vitest reports it
      }
      weight.set(spec, SLOW_FILES[rel] ?? size / BYTES_PER_SECOND);
    }
    return [...files].sort((a, b) => weight.get(b)! - weight.get(a)! || (a.project.name < b.project.name ? -1 : a.project.name > b.project.name ? 1 : 0));
  }
}
