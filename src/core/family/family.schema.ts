import { z } from 'zod';
import type { DonationMethod } from '../../db/schema.js';
import { rempDate } from '../subscriptions/subscription.schema.js';

export const donationMethods = ['copy', 'fixed_days'] as const satisfies readonly DonationMethod[];
const typeCode = z.string().regex(/^[a-z0-9_-]{1,100}$/, 'must be a subscription type code');

export const createFamilyTypeInput = z
  .object({
    parent: typeCode,
    child: typeCode.nullish(),
    method: z.enum(donationMethods, { error: 'must be copy or fixed_days' }),
    days: z.number().int().min(1).max(36_500).nullish(),
    count: z.number().int().min(0).max(10_000),
    is_paid: z.boolean().default(false),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.method === 'fixed_days' && (v.days === undefined || v.days === null)) ctx.addIssue({ code: 'custom', path: ['days'], message: 'is required with method fixed_days' });
    if (v.method === 'copy' && v.days !== undefined && v.days !== null) ctx.addIssue({ code: 'custom', path: ['days'], message: 'only applies to method fixed_days' });
  });

/** The body of activate and deactivate: exactly one code. */
export const familyCodeInput = z.object({ code: z.string({ error: 'code is required and must be a string' }).min(1, 'code must not be empty').max(255, 'code is too long') }).strict();

/** Why a code cannot be used; each door words these in its own format. */
export type FamilyRequestProblem = 'family_request_not_found' | 'family_request_one_per_user' | 'family_request_self_use_forbidden' | 'family_request_expired' | 'family_request_wrong_type' | 'family_request_wrong_status';

/** An operator sets or clears a code's expiry (`expires_at: null` clears it). */
export const setFamilyCodeExpiryInput = z
  .object({ expires_at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with offset, or null' }).nullable() })
  .strict();

export interface FamilyType {
  id: number;
  parent: string;
  child: string | null;
  donation_method: DonationMethod;
  days: number | null;
  count: number;
  is_paid: boolean;
  created_at: Date;
  disabled_at: Date | null;
}

export const familyTypeOut = z.object({ id: z.number(), parent: z.string(), child: z.string().nullable(), method: z.string(), days: z.number().nullable(), count: z.number(), is_paid: z.boolean(), created_at: z.string(), disabled_at: z.string().nullable() });
export const toFamilyTypeOut = (f: FamilyType) => ({
  id: f.id,
  parent: f.parent,
  child: f.child,
  method: f.donation_method,
  days: f.days,
  count: f.count,
  is_paid: f.is_paid,
  created_at: f.created_at.toISOString(),
  disabled_at: f.disabled_at?.toISOString() ?? null,
});

export interface FamilyCode {
  code: string;
  master_user_id: number;
  status: string;
  subscription_type_code: string;
  slave_user_id: number | null;
  created_at: Date;
  updated_at: Date;
  opened_at: Date | null;
  accepted_at: Date | null;
  canceled_at: Date | null;
  expires_at: Date | null;
}

/** A code as REMP's family/list shows one (dates ISO 8601 with offset, or null). */
export const rempFamilyCodeOut = z.object({
  code: z.string(),
  master_user_id: z.number(),
  status: z.string(),
  subscription_type_code: z.string(),
  slave_user_id: z.number().nullable(),
  created_at: z.string().nullable(),
  updated_at: z.string().nullable(),
  opened_at: z.string().nullable(),
  accepted_at: z.string().nullable(),
  canceled_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});

export const toRempFamilyCode = (c: FamilyCode) => ({
  code: c.code,
  master_user_id: c.master_user_id,
  status: c.status,
  subscription_type_code: c.subscription_type_code,
  slave_user_id: c.slave_user_id,
  created_at: rempDate(c.created_at),
  updated_at: rempDate(c.updated_at),
  opened_at: rempDate(c.opened_at),
  accepted_at: rempDate(c.accepted_at),
  canceled_at: rempDate(c.canceled_at),
  expires_at: rempDate(c.expires_at),
});
