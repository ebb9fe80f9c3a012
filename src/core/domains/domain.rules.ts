import { addFieldError, type FieldErrors } from '../../errors/app-error.js';
import type { CoreSettings } from '../context.js';
import type { MxRecord } from '../clients/client.schema.js';
import { MULTIPLE_MAIL_SERVERS, type Package } from '../packages/package.schema.js';
import { normalizeDomainName, normalizeMailServer } from '../shared/domain-name.js';

export const MULTIPLE_MAIL_SERVERS_MESSAGE =
  'are invalid. Your subscription does not allow multiple mail servers, please upgrade to unlock this feature.';

/** Each relay host gets its own MX record: "<domain with dots as hyphens>.<relay>." at rising priorities. */
export function mxRecordsFor(settings: Pick<CoreSettings, 'relayHosts' | 'relayPriorityStep'>, domain: string): MxRecord[] {
  const label = domain.replaceAll('.', '-');
  return settings.relayHosts.map((relay, i) => ({ priority: (i + 1) * settings.relayPriorityStep, hostname: `${label}.${relay}.` }));
}

export function allowsMultipleMailServers(plan: Pick<Package, 'features'> | undefined): boolean {
  return plan?.features.some((f) => f.code === MULTIPLE_MAIL_SERVERS) ?? false;
}

/** Validates and normalises a list of mail servers against what the package allows. */
export function checkMailServers(
  raw: string[],
  plan: Pick<Package, 'features' | 'limits'> | undefined,
  fields: FieldErrors,
  key = 'mail_servers',
): string[] {
  const servers: string[] = [];
  for (const entry of raw) {
    const normalized = normalizeMailServer(entry);
    if (!normalized) addFieldError(fields, key, `${JSON.stringify(entry)} is not a valid host name or IP address`);
    else if (!servers.includes(normalized)) servers.push(normalized);
  }
  const max = plan?.limits.max_mail_servers;
  if (servers.length > 1 && !allowsMultipleMailServers(plan)) addFieldError(fields, key, MULTIPLE_MAIL_SERVERS_MESSAGE);
  else if (max !== undefined && servers.length > max) addFieldError(fields, key, `has too many entries for this package (maximum is ${max})`);
  return servers;
}

export interface DomainSpec {
  name: string;
  mail_servers: string[] | undefined;
}

/** Normalises a requested domain set; duplicates and bad names are field errors, not silent fixes. */
export function checkDomainSet(
  raw: { name: string; mail_servers?: string[] | null | undefined }[],
  plan: Pick<Package, 'features' | 'limits'> | undefined,
  fields: FieldErrors,
): DomainSpec[] {
  const specs: DomainSpec[] = [];
  for (const entry of raw) {
    const name = normalizeDomainName(entry.name);
    if (!name) {
      addFieldError(fields, 'domains.name', `${JSON.stringify(entry.name)} is not a valid domain name`);
      continue;
    }
    if (specs.some((s) => s.name === name)) {
      addFieldError(fields, 'domains.name', `${name} is listed more than once`);
      continue;
    }
    const mail_servers = entry.mail_servers == null ? undefined : checkMailServers(entry.mail_servers, plan, fields, 'domains.mail_servers');
    specs.push({ name, mail_servers });
  }
  const max = plan?.limits.max_domains;
  if (max !== undefined && specs.length > max) addFieldError(fields, 'domains', `has too many entries for this package (maximum is ${max})`);
  return specs;
}
