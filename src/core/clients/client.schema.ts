import { z } from 'zod';
import type { ClientStatus, DomainStatus } from '../../db/schema.js';
import { emailAddress, optionalText } from '../shared/validation.js';

export const MAX_DOMAINS_PER_REQUEST = 100;
export const MAX_MAIL_SERVERS_PER_DOMAIN = 20;

export const mailServersInput = z
  .array(z.string().max(300, 'is too long'))
  .max(MAX_MAIL_SERVERS_PER_DOMAIN, `has too many entries (maximum is ${MAX_MAIL_SERVERS_PER_DOMAIN})`);

export const domainInput = z
  .object({
    name: z.string().max(300, 'is too long (maximum is 253 characters)'),
    mail_servers: mailServersInput.nullish(),
  })
  .strict();

const userCount = z
  .number()
  .int('must be an integer')
  .positive('must be greater than 0')
  .max(1_000_000, 'must be less than or equal to 1000000');

const clientFields = {
  package_uid: z.string().trim().min(1, "can't be blank").max(100, 'is too long'),
  user_count: userCount,
  email_address: emailAddress.nullish(),
  name: optionalText(200),
  domains: z
    .array(domainInput)
    .min(1, "can't be blank")
    .max(MAX_DOMAINS_PER_REQUEST, `has too many entries (maximum is ${MAX_DOMAINS_PER_REQUEST})`),
};

export const createClientInput = z.object(clientFields).strict();
export type CreateClientInput = z.input<typeof createClientInput>;

/** Absent fields stay as they are; `domains`, when present, is the complete new set. */
export const updateClientInput = z.object(clientFields).partial().strict();
export type UpdateClientInput = z.input<typeof updateClientInput>;

export const updateDomainInput = z.object({ mail_servers: mailServersInput }).strict();
export type UpdateDomainInput = z.input<typeof updateDomainInput>;

export const domainStatuses = ['initializing', 'ready', 'unknown'] as const satisfies readonly DomainStatus[];

/** How a caller names a client: by id, or by any of its live domain names. */
export type ClientRef = { id: number } | { domain: string };

export interface Domain {
  name: string;
  status: DomainStatus;
  mail_servers: string[];
}

export interface Client {
  id: number;
  reseller_id: number | null;
  package_uid: string | null;
  name: string | null;
  email_address: string | null;
  user_count: number;
  status: ClientStatus;
  domains: Domain[];
}

export interface MxRecord {
  priority: number;
  hostname: string;
}
