import { z } from 'zod';
import { optionalText, requiredText } from '../shared/validation.js';

/** Feature code that lets a domain list more than one mail server. */
export const MULTIPLE_MAIL_SERVERS = 'multiple_mail_servers';

const slug = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'must be 1-64 letters, digits, dots, dashes or underscores');

const tag = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lower-case letters, digits, dots, dashes or underscores');

// These columns are PostgreSQL integers: a bigger number is the caller's mistake, not a server error.
const INT_MAX = 2_147_483_647;
const wholeNumber = z
  .number({ error: 'must be a whole number' })
  .int('must be a whole number')
  .min(-INT_MAX - 1, `must be greater than or equal to ${-INT_MAX - 1}`)
  .max(INT_MAX, `must be less than or equal to ${INT_MAX}`);
const nonNegativeInt = wholeNumber.min(0, 'must be 0 or more');

export const planLimitsSchema = z
  .object({
    max_users: nonNegativeInt.optional(),
    max_domains: nonNegativeInt.optional(),
    max_mail_servers: nonNegativeInt.optional(),
  })
  .strict();

export const createFeatureInput = z
  .object({
    code: slug.nullish(),
    name: requiredText(200),
    blurb: optionalText(500),
    description: optionalText(5000),
    position: wholeNumber.optional(),
  })
  .strict();
export type CreateFeatureInput = z.input<typeof createFeatureInput>;

export const createPackageInput = z
  .object({
    uid: slug,
    name: requiredText(200),
    description: optionalText(5000),
    position: wholeNumber.optional(),
    free_trial: nonNegativeInt.optional(),
    tags: z.array(tag).max(50, 'has too many entries').optional(),
    domain_cost_cents: nonNegativeInt.optional(),
    mailbox_cost_cents: nonNegativeInt.optional(),
    limits: planLimitsSchema.optional(),
    /** Feature ids or feature codes. */
    features: z.array(z.union([z.number().int().positive(), slug])).max(200, 'has too many entries').optional(),
    parent_uid: slug.nullish(),
    /**
     * Site values this plan sets (`{"diskquota": {"quota": 5000}}`); what it does not set comes from its
     * parent, then the base plan. Checked against the site parameters' types (see core/sites).
     */
    service_defaults: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    /** SaaS portal: the "DB Names" template of new instances (`%i` is a global number, `crm-%i.example.com`). */
    dbname_template: z
      .string()
      .max(200)
      .regex(/^[a-z0-9%.-]+$/, 'must be a host name template of a-z, 0-9, "-", "." and %i')
      .nullish(),
    /** SaaS portal: most live instances of this plan (null: no limit). */
    max_databases: nonNegativeInt.nullish(),
    /** SaaS portal: modules instances of this plan may install (empty: every module). */
    addons: z.array(slug).max(200, 'has too many entries').optional(),
    /** `key=value`: the plan's new sites go only to hosting nodes carrying this label (null: any web node). */
    node_label: z
      .string()
      .max(127)
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}=[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be key=value (key: a-z, 0-9, ".", "_", "-"; value: letters, digits, ".", "_", "-")')
      .nullish(),
    /**
     * SaaS portal: the PostgreSQL database new instances of this plan are copied from (`CREATE
     * DATABASE ... TEMPLATE`) on their db node. It is written into SQL on the node, so only a plain
     * lower-case identifier passes (null: instances get no database of their own).
     */
    template_database: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a plain database name: a-z, 0-9 and "_", not starting with a digit, at most 63 characters')
      .nullish(),
  })
  .strict();
export type CreatePackageInput = z.input<typeof createPackageInput>;

export const updatePackageInput = createPackageInput.omit({ uid: true }).partial().strict();
export type UpdatePackageInput = z.input<typeof updatePackageInput>;

export interface Feature {
  id: number;
  code: string | null;
  name: string;
  blurb: string;
  description: string;
  position: number;
}

export interface Package {
  id: number;
  uid: string;
  name: string;
  description: string;
  position: number;
  free_trial_days: number;
  tags: string[];
  limits: z.infer<typeof planLimitsSchema>;
  domain_cost_cents: number;
  mailbox_cost_cents: number;
  parent_id: number | null;
  parent_uid: string | null;
  features: Feature[];
  service_defaults: Record<string, Record<string, unknown>>;
  dbname_template: string | null;
  max_databases: number | null;
  addons: string[];
  node_label: string | null;
  template_database: string | null;
}
