import type { Ctx } from '../context.js';
import { sealSecret } from '../secrets/secret.service.js';
import { SERVICES } from './site.catalog.js';
import * as repo from './site-secrets.repository.js';

// Service values that are secrets (mysql,passwd, pgsql,passwd, dns,key): sealed under the master
// keyring before they reach service_meta, never read back by collect, plans or audit.

/** What a sealed value is bound to: copied into another site or parameter, it does not open. */
export const siteSecretContext = (siteId: number, service: string, param: string) => `${service},${param} of site ${siteId}`;

/** The secrets given, sealed for this site, as a service_meta patch (undefined when none were given). */
export async function sealSiteSecrets(tx: Ctx, siteId: number, secrets: { service: string; param: string; value: unknown }[]): Promise<Record<string, Record<string, unknown>> | undefined> {
  if (secrets.length === 0) return undefined;
  const out: Record<string, Record<string, unknown>> = {};
  for (const s of secrets) {
    // null clears the secret.
    (out[s.service] ??= {})[s.param] = s.value === null ? null : (await sealSecret(tx, siteSecretContext(siteId, s.service, s.param), String(s.value))).sealed;
  }
  return out;
}

/** Metadata as an audit entry may show it: each secret given only as "set" (or null when cleared). */
export function shownMeta(meta: Record<string, Record<string, unknown>>, secrets: { service: string; param: string; value: unknown }[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [service, params] of Object.entries(meta)) out[service] = { ...params };
  for (const s of secrets) (out[s.service] ??= {})[s.param] = s.value === null ? null : '(set)';
  return out;
}

/** Every `service,param` kept sealed. */
const SECRET_PARAMS: [string, string][] = Object.entries(SERVICES).flatMap(([service, params]) =>
  Object.entries(params)
    .filter(([, spec]) => spec.secret)
    .map(([param]) => [service, param] as [string, string]),
);

/**
 * Rotation: reseals every site secret under `keyId`, in the caller's transaction (the one that makes
 * `keyId` current). A value that does not open throws, so the rotation changes nothing.
 */
export async function resealSiteSecrets(tx: Ctx, keyId: string): Promise<number> {
  const keyring = tx.settings.keyring;
  let resealed = 0;
  for (const site of await repo.lockSitesWithSecrets(tx.db, SECRET_PARAMS)) {
    for (const [service, param] of SECRET_PARAMS) {
      const sealed = site.service_meta?.[service]?.[param];
      if (typeof sealed !== 'string') continue;
      const context = siteSecretContext(site.id, service, param);
      await repo.setSiteSecret(tx.db, site.id, service, param, keyring.seal(keyring.open(sealed, context), context, keyId));
      resealed++;
    }
  }
  return resealed;
}
