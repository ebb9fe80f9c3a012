import { z } from 'zod';
import type { ResellerStatus } from '../../db/schema.js';
import { emailAddress, optionalText } from '../shared/validation.js';

// An empty string is as good as absent for a required field.
const specified = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema);

export const username = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9._-]{2,63}$/i, 'must be 3-64 letters, digits, dots, dashes or underscores, starting with a letter or digit');

const tag = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lower-case letters, digits, dots, dashes or underscores');

export const loginHostname = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+(:[0-9]{1,5})?$/, 'must be a host name such as login.example.com');

/** What a reseller (or an operator on its behalf) tells about itself. */
export const resellerProfile = z.object({
  name: specified(z.string().trim().max(200, 'is too long (maximum is 200 characters)')),
  first_name: optionalText(100),
  last_name: optionalText(100),
  email_address: specified(emailAddress),
  address: optionalText(300),
  city: optionalText(100),
  state: optionalText(100),
  postal_code: optionalText(30),
  country: optionalText(100),
  phone: optionalText(50),
  username: specified(username),
  application_name: tag.nullish(),
  tags: z.array(tag).max(50, 'has too many entries').nullish(),
});

export const signUpResellerInput = resellerProfile.strict();
export type SignUpResellerInput = z.input<typeof signUpResellerInput>;

export const createResellerInput = resellerProfile
  .extend({ login_hostname: loginHostname.nullish() })
  .strict();
export type CreateResellerInput = z.input<typeof createResellerInput>;

export const updateResellerInput = z
  .object({ login_hostname: loginHostname.nullable(), tags: z.array(tag).max(50, 'has too many entries'), name: z.string().trim().min(1, "can't be blank").max(200) })
  .partial()
  .strict();
export type UpdateResellerInput = z.input<typeof updateResellerInput>;

export interface Reseller {
  id: number;
  name: string;
  first_name: string | null;
  last_name: string | null;
  email_address: string;
  address: string | null;
  city: string | null;
  state: string | null;
  postal_code: string | null;
  country: string | null;
  phone: string | null;
  username: string;
  application_name: string | null;
  tags: string[];
  login_hostname: string | null;
  status: ResellerStatus;
  approved_at: Date | null;
  suspended_at: Date | null;
  suspend_reason: string | null;
  created_at: Date;
}

/** API credentials: the token is the Basic-auth user, the key its password. Shown once. */
export interface ResellerCredentials {
  api_token: string;
  api_key: string;
}

export const RESELLER_PASSWORD_MIN = 10;

/** The reseller's web console sign-in, set by an operator on approval or later. */
export const resellerLoginInput = z
  .object({
    login: z.string().trim().min(3, 'is too short (minimum is 3 characters)').max(254, 'is too long (maximum is 254 characters)').regex(/^\S+$/, 'must not contain spaces'),
    password: z.string().min(RESELLER_PASSWORD_MIN, `is too short (minimum is ${RESELLER_PASSWORD_MIN} characters)`).max(1024, 'is too long (maximum is 1024 characters)'),
  })
  .strict();
export type ResellerLoginInput = z.input<typeof resellerLoginInput>;

/** Approval may set the console sign-in at once; without a login the reseller's username is used. */
export const approveResellerInput = z
  .object({
    login: resellerLoginInput.shape.login.optional(),
    password: resellerLoginInput.shape.password.optional(),
  })
  .strict()
  .refine((v) => v.login === undefined || v.password !== undefined, { path: ['password'], message: "can't be blank when a login is given" });
export type ApproveResellerInput = z.input<typeof approveResellerInput>;
