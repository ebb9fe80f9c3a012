import type { AuditEvent } from '../../core/audit/audit.schema.js';
import type { Client, Domain } from '../../core/clients/client.schema.js';
import type { CoreSettings } from '../../core/context.js';
import { mxRecordsFor } from '../../core/domains/domain.rules.js';
import { addedFeatures } from '../../core/packages/package.service.js';
import type { Feature, Package } from '../../core/packages/package.schema.js';
import type { Reseller } from '../../core/resellers/reseller.schema.js';

type MxSettings = Pick<CoreSettings, 'relayHosts' | 'relayPriorityStep'>;

export function toHspDomain(settings: MxSettings, d: Domain) {
  return { name: d.name, mx_records: mxRecordsFor(settings, d.name), mail_servers: d.mail_servers };
}

/** The console's list: the client and its domains with their status, for the badges. */
export function toHspClientWithStatus(settings: MxSettings, c: Client) {
  return { ...toHspClient(settings, c), status: c.status as 'active' | 'suspended', domains: c.domains.map((d) => ({ ...toHspDomain(settings, d), status: d.status })) };
}

export function toHspClient(settings: MxSettings, c: Client) {
  return {
    id: c.id,
    package_uid: c.package_uid,
    user_count: c.user_count,
    email_address: c.email_address,
    name: c.name,
    domains: c.domains.map((d) => toHspDomain(settings, d)),
  };
}

const toHspFeature = (f: Feature) => ({ id: f.id, name: f.name, blurb: f.blurb, description: f.description, position: f.position });

export function formatCents(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}

export function toHspPackages(packages: Package[]) {
  const added = addedFeatures(packages);
  return packages.map((p, i) => ({
    id: p.id,
    uid: p.uid,
    name: p.name,
    description: p.description,
    position: p.position,
    free_trial: p.free_trial_days,
    features: p.features.map(toHspFeature),
    added_features: added[i]!.map(toHspFeature),
    reseller_cost: {
      domain_cents: p.domain_cost_cents,
      domain_formatted: formatCents(p.domain_cost_cents),
      mailbox_cents: p.mailbox_cost_cents,
      mailbox_formatted: formatCents(p.mailbox_cost_cents),
    },
  }));
}

export function toHspSellablePackages(packages: Package[]) {
  return toHspPackages(packages).map((p, i) => ({ ...p, tags: packages[i]!.tags, max_users: packages[i]!.limits.max_users ?? null }));
}

export const signupFields = [
  'name',
  'first_name',
  'last_name',
  'email_address',
  'address',
  'city',
  'state',
  'postal_code',
  'country',
  'phone',
  'username',
] as const;

export function emptyResellerTemplate() {
  return { ...Object.fromEntries(signupFields.map((f) => [f, null])), tags: [] as string[] };
}

export function toHspReseller(r: Reseller) {
  return {
    id: r.id,
    ...Object.fromEntries(signupFields.map((f) => [f, r[f]])),
    application_name: r.application_name,
  };
}

const isScalar = (v: unknown) => v === null || ['string', 'number', 'boolean'].includes(typeof v);

/**
 * Echo of what was posted, limited to the fields a sign-up knows and to plain values (or lists of
 * them), so responses never reflect arbitrary keys or structures.
 */
export function echoReseller(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const src = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of [...signupFields, 'application_name', 'tags']) {
    const v = src[f];
    if (f in src && (isScalar(v) || (Array.isArray(v) && v.every(isScalar)))) out[f] = v;
  }
  return out;
}

export function toHspAuditEvent(e: AuditEvent) {
  return {
    id: e.id,
    occurred_at: e.occurred_at.toISOString(),
    actor_kind: e.actor_kind,
    actor_id: e.actor_id,
    reseller_id: e.reseller_id,
    action: e.action,
    target_type: e.target_type,
    target_id: e.target_id,
    changes: e.changes,
    request_id: e.request_id,
    source_ip: e.source_ip,
  };
}
