import { randomBytes } from 'node:crypto';
import { findAccountByLogin } from '../accounts/account.repository.js';
import { createOperatorUser } from '../saas/saas.service.js';
import { DEFAULT_SITE_PLAN } from '../sites/site.params.js';
import { recordAudit } from '../audit/audit.service.js';
import { inTransaction, type Ctx } from '../context.js';
import { createFeature, createPackage, listPackages } from '../packages/package.service.js';
import { MULTIPLE_MAIL_SERVERS } from '../packages/package.schema.js';
import { createReseller } from '../resellers/reseller.service.js';
import type { Reseller, ResellerCredentials } from '../resellers/reseller.schema.js';

export interface DemoSeedResult {
  created: boolean;
  reseller?: Reseller;
  credentials?: ResellerCredentials;
  /** The SaaS portal administrator (an operator user) for the XML-RPC door, when the demo made one. */
  portalAdmin?: { login: string; password: string };
}

/**
 * A catalog shaped like the HSP seed's example (three packages tagged `cpanel`, features, costs) and
 * one approved reseller, so the documented curl calls work against a fresh server.
 * Does nothing when the catalog already has packages (besides `basic`, the built-in default plan of sites).
 */
export async function seedDemo(ctx: Ctx): Promise<DemoSeedResult> {
  return inTransaction(ctx, async (tx) => {
    if ((await listPackages(tx)).some((p) => p.uid !== DEFAULT_SITE_PLAN)) return { created: false };
    const f = async (code: string | null, name: string, position: number, blurb = '') =>
      (await createFeature(tx, { code, name, blurb, position })).id;
    const antiSpam = await f('anti_spam', 'Anti-Spam Filtering', 1);
    const antiVirus = await f('anti_virus', 'Anti-Virus Scanning', 2);
    const spooling = await f('mail_spooling', 'Mail Spooling (up to 7 days)', 3);
    const multi = await f(MULTIPLE_MAIL_SERVERS, 'Multiple Mail Servers', 4);
    const archive = await f('archiving', 'Email Archiving', 5);
    const support = await f('support', '24/7/365 Support', 12, 'support@example.com');

    await createPackage(tx, {
      uid: 'spamstopshere-standard',
      dbname_template: 'standard-%i.saas.hostplane.test',
      name: 'Standard',
      position: 1,
      free_trial: 30,
      tags: ['cpanel'],
      features: [antiSpam, support],
      domain_cost_cents: 50,
      mailbox_cost_cents: 100,
      limits: { max_mail_servers: 1 },
    });
    await createPackage(tx, {
      uid: 'spamstopshere-professional',
      dbname_template: 'professional-%i.saas.hostplane.test',
      name: 'Professional',
      position: 2,
      free_trial: 30,
      tags: ['cpanel'],
      features: [antiSpam, antiVirus, spooling, multi, support],
      domain_cost_cents: 75,
      mailbox_cost_cents: 150,
      limits: { max_mail_servers: 5 },
    });
    await createPackage(tx, {
      uid: 'spamstopshere-enterprise',
      dbname_template: 'enterprise-%i.saas.hostplane.test',
      name: 'Enterprise',
      position: 3,
      free_trial: 14,
      tags: ['cpanel'],
      features: [antiSpam, antiVirus, spooling, multi, archive, support],
      domain_cost_cents: 125,
      mailbox_cost_cents: 250,
      limits: { max_mail_servers: 10 },
    });

    const { reseller, credentials } = await createReseller(tx, {
      name: 'Demo Reseller',
      first_name: 'Demo',
      last_name: 'Reseller',
      email_address: 'demo-reseller@example.com',
      username: 'demo-reseller',
      application_name: 'cpanel',
      tags: ['cpanel'],
    });
    // The SaaS portal's administrator, so the portal's XML-RPC examples work against a fresh start.
    let portalAdmin: DemoSeedResult['portalAdmin'];
    if (!(await findAccountByLogin(tx.db, 'admin'))) {
      const password = randomBytes(12).toString('base64url');
      await createOperatorUser(tx, { login: 'admin', password, name: 'Portal Administrator' });
      portalAdmin = { login: 'admin', password };
    }
    // Each record above has its own event; this one says they came as the demo set.
    await recordAudit(tx, {
      action: 'demo.seeded',
      targetType: 'catalog',
      targetId: 'demo',
      resellerId: null,
      after: { packages: (await listPackages(tx)).map((p) => p.uid).filter((uid) => uid !== DEFAULT_SITE_PLAN), features: [antiSpam, antiVirus, spooling, multi, archive, support], reseller_id: reseller.id, portal_admin: portalAdmin?.login ?? null },
    });
    return { created: true, reseller, credentials, ...(portalAdmin ? { portalAdmin } : {}) };
  });
}
