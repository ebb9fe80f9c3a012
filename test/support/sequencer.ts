import fs from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/*
 * Longest files first, from both projects at once, so the run does not end with one worker busy on a
 * long file while the other has nothing left. Vitest's own order (longest first by the durations it
 * cached) needs a previous run on the same machine, which CI never has; without one it sorts by file
 * size and runs all of the pglite project before the postgres one, so a long postgres file could come
 * last. The weights below are the seconds a file took on the slower of the two databases in a whole
 * run on a two-core machine (files of 10 s or more): only their order matters. A file not listed weighs by its size, as Vitest does. A file's postgres run is
 * weighed the same as its pglite run.
 */
const SLOW_FILES: Record<string, number> = {
  'test/agent/web-kill-apply.test.ts': 72,
  'test/odoo/db-kill-apply.test.ts': 60,
  'test/odoo/instance-kill-apply.test.ts': 30,
  'test/security/fuzz-rest.test.ts': 49,
  'test/apiscp/cli-errors.test.ts': 47,
  'test/readme/readme-commands.test.ts': 47,
  'test/agent/web-driver.test.ts': 44,
  'test/odoo/portal-models.test.ts': 43,
  'test/ha/backup-restore.test.ts': 40,
  'test/ha/failover.test.ts': 34,
  'test/package/pack.test.ts': 32,
  'test/security/idempotency-crash.test.ts': 28,
  'test/security/secrets-rotation.test.ts': 27,
  'test/cli/resellers.test.ts': 26,
  'test/agent/agent-loop.test.ts': 25,
  'test/apiscp/functions.test.ts': 25,
  'test/apiscp/seed-session.test.ts': 25,
  'test/cli/catalog.test.ts': 25,
  'test/console/reseller-browser.test.ts': 25,
  'test/security/secrets-at-rest.test.ts': 25,
  'test/agent/web-usage.test.ts': 24,
  'test/agent/site-databases-e2e.test.ts': 23,
  'test/jobs-process/crash-recovery.test.ts': 23,
  'test/agent/agent-e2e.test.ts': 22,
  'test/cli/jobs.test.ts': 20,
  'test/console/journey-browser.test.ts': 20,
  'test/agent/local-agent.test.ts': 19,
  'test/apiscp/billing-functions.test.ts': 19,
  'test/console/operator-pages-browser.test.ts': 19,
  'test/security/fuzz-rpc.test.ts': 19,
  'test/http/garbage.test.ts': 18,
  'test/security/db-faults.test.ts': 18,
  'test/apiscp/reseller-keys.test.ts': 17,
  'test/console/site-databases-browser.test.ts': 18,
  'test/console/client-browser.test.ts': 16,
  'test/jobs-process/worker-lane.test.ts': 16,
  'test/security/login-burst-odoo.test.ts': 16,
  'test/crm-api/cli.test.ts': 15,
  'test/nodes/placement.test.ts': 15,
  'test/odoo/saas-database.test.ts': 15,
  'test/odoo/instance-over-limit.test.ts': 17,
  'test/facades/odoo-rpc/odoo-rpc-transport.test.ts': 14,
  'test/console/activate-browser.test.ts': 13,
  'test/ha/pitr-pgbackrest.test.ts': 13,
  'test/cli/serve.test.ts': 12,
  'test/core/record-filter.test.ts': 12,
  'test/nodes/agent-api.test.ts': 12,
  'test/nodes/relay-objects.test.ts': 11,
  'test/security/revocation-cli.test.ts': 11,
  'test/agent/web-two-nodes.test.ts': 10,
  'test/cli/doctor.test.ts': 10,
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
