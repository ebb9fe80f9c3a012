import { z } from 'zod';
import type { ExtensionMethod, SubscriptionKind } from '../../db/schema.js';

export const extensionMethods = ['start_now', 'extend_same_type', 'extend_family'] as const satisfies readonly ExtensionMethod[];
export const subscriptionKinds = ['regular', 'free', 'donation', 'gift', 'special', 'upgrade', 'prepaid', 'family'] as const satisfies readonly SubscriptionKind[];

// Form posts send every value as text, so numbers and flags also come as "12" or "1".
const id = z.union([z.number().int().min(1), z.string().regex(/^[0-9]{1,15}$/, 'must be a positive whole number').transform(Number)], { error: 'must be a positive whole number' });
const count = z.union([z.number().int().min(0).max(10_000), z.string().regex(/^[0-9]{1,5}$/, 'must be a whole number').transform(Number).pipe(z.number().max(10_000))], { error: 'must be a whole number from 0 to 10000' });
const cents = z.union([z.number().min(0).max(1e9), z.string().regex(/^[0-9]{1,9}(\.[0-9]{1,2})?$/, 'must be an amount').transform(Number)]).transform((n) => Math.round(n * 100));
export const flag = z.union([z.boolean(), z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true')], { error: 'must be true or false' });
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with offset' }).transform((s) => new Date(s));
const meta = z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'meta keys are letters, digits, _ . -'), z.union([z.string().max(1000), z.number(), z.boolean()]).transform(String)).default({});

export const createSubscriptionTypeInput = z
  .object({
    code: z.string().regex(/^[a-z0-9_-]{1,100}$/, 'must be lower-case letters, digits, _ or -'),
    name: z.string().trim().min(1, "can't be blank").max(200),
    length: z.number().int().min(1).max(36_500),
    access: z.array(z.string().regex(/^[a-z0-9_-]{1,50}$/, 'must be lower-case letters, digits, _ or -')).max(50).default([]),
    extension_method: z.enum(extensionMethods, { error: `must be one of ${extensionMethods.join(', ')}` }).default('start_now'),
    package_uid: z.string().min(1).max(100).optional(),
  })
  .strict();

export const createSubscriptionInput = z
  .object({
    email: z.string({ error: 'is required' }).min(1, 'is required').max(254),
    subscription_type_id: id,
    is_paid: flag,
    start_time: instant.optional(),
    end_time: instant.optional(),
    type: z.enum(subscriptionKinds, { error: `must be one of ${subscriptionKinds.join(', ')}` }).default('regular'),
    note: z.string().max(1000).optional(),
  })
  .strict();

export const createPaymentInput = z
  .object({
    email: z.string({ error: 'is required' }).min(1, 'is required').max(254),
    subscription_type_id: id,
    status: z.enum(['paid', 'form', 'fail']).default('paid'),
    amount: cents.optional(),
    meta,
    // A recurring charge names the payment it renews: its subscription is the one a family parent renews.
    parent_payment_id: id.optional(),
    items: z
      .array(
        z
          .object({
            subscription_type_id: id.optional(),
            name: z.string().max(200).optional(),
            count: count,
            price: cents.optional(),
            meta,
          })
          .strict(),
      )
      .max(100)
      .default([]),
  })
  .strict();

export interface SubscriptionType {
  id: number;
  code: string;
  name: string;
  length_days: number;
  access: string[];
  extension_method: ExtensionMethod;
  plan_id: number | null;
  created_at: Date;
}

export interface Subscription {
  id: number;
  user_id: number;
  subscription_type_id: number;
  start_time: Date;
  end_time: Date;
  is_paid: boolean;
  type: SubscriptionKind;
  note: string | null;
  meta: Record<string, string>;
  payment_id: number | null;
  renewed_subscription_id: number | null;
  created_at: Date;
}

export const subscriptionTypeOut = z.object({
  id: z.number(),
  code: z.string(),
  name: z.string(),
  length: z.number(),
  access: z.array(z.string()),
  extension_method: z.string(),
  plan_id: z.number().nullable(),
  created_at: z.string(),
});
export const toSubscriptionTypeOut = (t: SubscriptionType) => ({ id: t.id, code: t.code, name: t.name, length: t.length_days, access: t.access, extension_method: t.extension_method, plan_id: t.plan_id, created_at: t.created_at.toISOString() });

/** REMP's dates: ISO 8601 to the second with a numeric offset (PHP's DATE_ATOM). */
export function rempDate(d: Date | null): string | null {
  return d ? d.toISOString().replace(/\.\d{3}Z$/, '+00:00') : null;
}
