import fs from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/*
 * Longest files first, from both projects at once, so the run does not end with one worker busy on a
 * long file while the other has nothing left. Vitest's own order (longest first by the durations it
 * cached) needs a previous run on the same machine, which CI never has; without one it sorts by file
 * size and runs all of the pglite project before the postgres one, so a long postgres file could come
 * last. The weights below are the seconds a file took on the slower of the two databases, measured
 * on a busy two-core machine (files of 15 s or more; the HA suite's unmeasured files guessed): only
 * their order matters. A file not listed weighs by its size, as Vitest does. A file's postgres run is
 * weighed the same as its pglite run.
 */
const SLOW_FILES: Record<string, number> = {
  'test/apiscp/cli-errors.test.ts': 116,
  'test/ha/backup-restore.test.ts': 75,
  'test/readme/readme-commands.test.ts': 71,
  'test/nodes/placement.test.ts': 71,
  'test/agent/web-driver.test.ts': 71,
  'test/apiscp/billing-functions.test.ts': 67,
  'test/ha/failover.test.ts': 61,
  'test/security/fuzz-rest.test.ts': 60,
  'test/console/operator-pages-browser.test.ts': 60,
  'test/ha/pitr-pgbackrest.test.ts': 60,
  'test/ha/rolling-upgrade.test.ts': 60,
  'test/cli/resellers.test.ts': 57,
  'test/cli/jobs.test.ts': 55,
  'test/apiscp/seed-session.test.ts': 54,
  'test/nodes/relay-objects.test.ts': 49,
  'test/odoo/saas-database.test.ts': 47,
  'test/facades/odoo-rpc/odoo-rpc-transport.test.ts': 45,
  'test/agent/site-databases-e2e.test.ts': 44,
  'test/webhooks/webhooks.test.ts': 43,
  'test/agent/agent-e2e.test.ts': 43,
  'test/security/cross-tenant.test.ts': 41,
  'test/http/garbage.test.ts': 41,
  'test/cli/catalog.test.ts': 41,
  'test/odoo/instance-users.test.ts': 40,
  'test/console/reseller-browser.test.ts': 39,
  'test/security/idempotency-crash.test.ts': 38,
  'test/agent/web-usage.test.ts': 38,
  'test/apiscp/soap-transport.test.ts': 36,
  'test/client-rest/panel-apps.test.ts': 34,
  'test/package/pack.test.ts': 33,
  'test/agent/local-agent.test.ts': 33,
  'test/nodes/agent-api.test.ts': 32,
  'test/console/site-hosting-browser.test.ts': 31,
  'test/crm-api/family-lifecycle.test.ts': 30,
  'test/agent/agent-loop.test.ts': 30,
  'test/security/fuzz-rpc.test.ts': 29,
  'test/console/journey-browser.test.ts': 29,
  'test/odoo/portal-models.test.ts': 28,
  'test/apiscp/reseller-keys.test.ts': 28,
  'test/hsp-rest/reseller-session.test.ts': 27,
  'test/security/prototype-keys.test.ts': 26,
  'test/hsp-rest/resellers-signup.test.ts': 26,
  'test/console/client-browser.test.ts': 26,
  'test/console/operator-browser.test.ts': 25,
  'test/odoo/instance-console.test.ts': 24,
  'test/console/activate-browser.test.ts': 24,
  'test/security/revocation-cli.test.ts': 21,
  'test/jobs-process/crash-recovery.test.ts': 20,
  'test/console/dashboard-browser.test.ts': 18,
  'test/apiscp/sso-cleanup.test.ts': 18,
  'test/agent/web-two-nodes.test.ts': 18,
  'test/security/revocation.test.ts': 17,
  'test/jobs/provisioning.test.ts': 17,
  'test/facades/odoo-rpc/xmlrpc-codec.test.ts': 17,
  'test/crm-api/cli.test.ts': 17,
  'test/security/soap-amplification.test.ts': 16,
  'test/security/secrets-rotation.test.ts': 16,
  'test/security/login-burst-odoo.test.ts': 16,
  'test/nodes/database-objects.test.ts': 16,
  'test/hsp-rest/clients.test.ts': 16,
  'test/crm-api/scenarios.test.ts': 16,
  'test/crm-api/family.test.ts': 16,
  'test/console/panel-browser.test.ts': 16,
  'test/agent/pg-database-driver.test.ts': 15,
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
