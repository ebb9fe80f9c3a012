import { z } from 'zod';
import { familyCodeInput } from '../../core/family/family.schema.js';
import { createSubscriptionInput } from '../../core/subscriptions/subscription.schema.js';

// The REMP CRM door's route schemas: they document the door in /openapi.json (the web console's
// activation page is typed from them); the use cases validate, with REMP's messages.

export const FORM_RULE = `Send JSON (application/json) or a form (application/x-www-form-urlencoded), as REMP's PHP
clients do; both give the same validation and errors. In a form every value is text ("12", "9.50", "1"), and nested
fields use PHP's bracket spelling (http_build_query): meta[family_subscriptions_count]=5, items[0][count]=5,
items[0][meta][subscription_type_item_id]=7, access[]=web. A group whose keys are exactly 0..n-1 is a list, any
other group an object. A field given twice, a name used both as a value and as a group, unbalanced brackets,
nesting deeper than 4 levels or a bad %-escape is a 400 "Malformed form body: ..."; any other Content-Type than
JSON, a form or text/plain (read as JSON) is a 400 "Unsupported Content-Type".`;

const rempDate = z.string().describe('ISO 8601 to the second with offset, e.g. 2026-03-01T09:00:00+00:00');

export const rempError = z
  .object({
    status: z.string().optional(),
    message: z.string(),
    code: z.string().optional().describe('why, e.g. family_request_not_found'),
    error: z.string().optional().describe('no_authorization, auth_failed, rate_limited, ...'),
    errors: z.array(z.string()).optional().describe('with "Payload error": one "field: problem" line per problem'),
  })
  .meta({ examples: [{ status: 'error', message: 'Payload error', errors: ['email: is required'] }] });

const rempUser = z.object({ id: z.number().int(), email: z.string(), first_name: z.string().nullable(), last_name: z.string().nullable() });
const userExample = { id: 12, email: 'boss@company.test', first_name: null, last_name: null };

export const signInBody = z
  .object({ email: z.string(), password: z.string() })
  .describe('JSON or a form (email=...&password=...)')
  .meta({ examples: [{ email: 'boss@company.test', password: 'boss-password' }] });
export const signedInOut = z
  .object({ status: z.literal('ok'), user: rempUser, access: z.object({ token: z.string().describe('send as Authorization: Bearer <token>') }) })
  .meta({ examples: [{ status: 'ok', user: userExample, access: { token: 'q3Vt0fJ8cR2mXy5LzA1bN7eK4sW9pD6hG0uT2iO8vYc' } }] });
export const statusOk = z.object({ status: z.literal('ok') }).meta({ examples: [{ status: 'ok' }] });
export const userInfoOut = z.object({ status: z.literal('ok'), user: rempUser }).meta({ examples: [{ status: 'ok', user: userExample }] });

export const mySubscriptionsOut = z
  .object({
    status: z.literal('ok'),
    subscriptions: z.array(z.object({ id: z.number().int(), start_at: rempDate.nullable(), end_at: rempDate.nullable(), code: z.string().describe('the subscription type code'), access: z.array(z.string()), is_paid: z.boolean(), type: z.string() })),
  })
  .meta({ examples: [{ status: 'ok', subscriptions: [{ id: 31, start_at: '2026-03-01T09:00:00+00:00', end_at: '2027-03-01T09:00:00+00:00', code: 'company_year', access: ['web'], is_paid: true, type: 'regular' }] }] });

const createdSubscription = { id: 31, start_time: '2026-03-01T09:00:00+00:00', end_time: '2027-03-01T09:00:00+00:00', code: 'company_year', access: ['web'] };

export const createSubscriptionBody = createSubscriptionInput
  .describe(`A subscription of an existing subscription type (ids: GET /admin/v1/subscription-types or hostplane subscription-type list) for an existing end user, by email. start_time defaults by the type's extension method (now, or after the user's running subscription of the type or family); end_time to start + the type's length.\n\n${FORM_RULE}`)
  .meta({
    // x-examples, not examples: zod leaves examples out of the input schema of a transforming schema.
    'x-examples': {
      json: { summary: 'JSON', value: { email: 'boss@company.test', subscription_type_id: 1, is_paid: true, type: 'regular', note: 'annual invoice 2026-0042' } },
      form: { summary: 'a form, decoded (email=boss%40company.test&subscription_type_id=1&is_paid=1)', value: { email: 'boss@company.test', subscription_type_id: '1', is_paid: '1' } },
    },
  });
export const createSubscriptionOut = z
  .object({
    status: z.literal('ok'),
    message: z.string(),
    subscriptions: z.object({ id: z.number().int(), start_time: rempDate, end_time: rempDate, code: z.string().describe('the subscription type code'), access: z.array(z.string()), is_paid: z.boolean(), type: z.string() }).describe('the one subscription created (REMP names it in the plural)'),
  })
  .meta({ examples: [{ status: 'ok', message: 'Subscription created', subscriptions: { ...createdSubscription, is_paid: true, type: 'regular' } }] });

// The payment's fields as core/subscriptions' createPaymentInput reads them. Written out here because the
// OpenAPI conversion drops a union branch of a schema used more than once in a body (the core reuses its
// id and amount schemas); the tests post these examples to the door to keep the two in step.
const idField = () => z.union([z.number().int().min(1), z.string().regex(/^[0-9]{1,15}$/)]).describe('a positive whole number (text in a form)');
const amountField = () => z.union([z.number().min(0).max(1e9), z.string().regex(/^[0-9]{1,9}(\.[0-9]{1,2})?$/)]).describe('in currency units, up to 2 decimals (text in a form)');
const metaField = () => z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/), z.union([z.string().max(1000), z.number(), z.boolean()])).optional().describe('free key/value pairs, kept as text');
const createPaymentFields = z
  .object({
    email: z.string().min(1).max(254).describe('an existing end user'),
    subscription_type_id: idField(),
    status: z.enum(['paid', 'form', 'fail']).optional().describe('default paid'),
    amount: amountField().optional(),
    meta: metaField(),
    parent_payment_id: idField().optional().describe("the same user's payment of the same type that this recurring charge renews"),
    items: z
      .array(
        z
          .object({ subscription_type_id: idField().optional(), name: z.string().max(200).optional(), count: z.union([z.number().int().min(0).max(10_000), z.string().regex(/^[0-9]{1,5}$/)]), price: amountField().optional(), meta: metaField() })
          .strict(),
      )
      .max(100)
      .optional(),
  })
  .strict();
export const createPaymentBody = createPaymentFields
  .describe(`A payment of an existing end user (by email) for a subscription type. A paid one (status "paid", the default) creates its subscription at once and, for a family parent type, its family codes: as many as the family type's count, or with count 0 the meta family_subscriptions_count, else the items' count. amount defaults to the sum of the items' price × count. parent_payment_id names the payment a recurring charge renews.\n\n${FORM_RULE}`)
  .meta({
    'x-examples': {
      json: {
        summary: 'JSON',
        value: { email: 'boss@company.test', subscription_type_id: 1, amount: 249.5, meta: { family_subscriptions_count: 5 }, items: [{ subscription_type_id: 1, name: 'Company, 5 seats', count: 1, price: 249.5 }] },
      },
      form: {
        summary: 'a form, decoded (email=boss%40company.test&subscription_type_id=1&amount=249.50&meta[family_subscriptions_count]=5&items[0][subscription_type_id]=1&items[0][name]=Company%2C+5+seats&items[0][count]=1&items[0][price]=249.50)',
        value: { email: 'boss@company.test', subscription_type_id: '1', amount: '249.50', meta: { family_subscriptions_count: '5' }, items: [{ subscription_type_id: '1', name: 'Company, 5 seats', count: '1', price: '249.50' }] },
      },
    },
  });
export const createPaymentOut = z
  .object({
    status: z.literal('ok'),
    payment: z.object({
      id: z.number().int(),
      status: z.enum(['paid', 'form', 'fail']),
      amount: z.number(),
      meta: z.record(z.string(), z.string()).describe('as text, whatever was sent'),
      items: z.array(z.object({ id: z.number().int(), subscription_type_id: z.number().int().nullable(), name: z.string(), count: z.number().int(), price: z.number(), meta: z.record(z.string(), z.string()) })),
    }),
    subscription: z.object({ id: z.number().int(), start_time: rempDate, end_time: rempDate, code: z.string(), access: z.array(z.string()) }).nullable().describe('the subscription a paid payment created; null for "form" and "fail"'),
  })
  .meta({
    examples: [
      {
        status: 'ok',
        payment: { id: 17, status: 'paid', amount: 249.5, meta: { family_subscriptions_count: '5' }, items: [{ id: 21, subscription_type_id: 1, name: 'Company, 5 seats', count: 1, price: 249.5, meta: {} }] },
        subscription: createdSubscription,
      },
    ],
  });

const familyCodeOut = z.object({
  code: z.string(),
  master_user_id: z.number().int(),
  status: z.enum(['created', 'opened', 'accepted', 'canceled']),
  subscription_type_code: z.string().describe('the child subscription type'),
  slave_user_id: z.number().int().nullable().describe('the user who activated it'),
  created_at: rempDate,
  updated_at: rempDate,
  opened_at: rempDate.nullable(),
  accepted_at: rempDate.nullable(),
  canceled_at: rempDate.nullable(),
  expires_at: rempDate.nullable(),
});
export const familyListOut = z
  .object({ codes: z.array(familyCodeOut) })
  .meta({
    examples: [
      {
        codes: [
          { code: 'vjvewvhf1mdu49ejua482il1037lpydk', master_user_id: 12, status: 'accepted', subscription_type_code: 'member_year', slave_user_id: 14, created_at: '2026-03-01T09:00:00+00:00', updated_at: '2026-03-02T08:30:00+00:00', opened_at: null, accepted_at: '2026-03-02T08:30:00+00:00', canceled_at: null, expires_at: null },
          { code: 'hd3fuu77zktk4hfxkthnt6bz4mt50bme', master_user_id: 12, status: 'created', subscription_type_code: 'member_year', slave_user_id: null, created_at: '2026-03-01T09:00:00+00:00', updated_at: '2026-03-01T09:00:00+00:00', opened_at: null, accepted_at: null, canceled_at: null, expires_at: null },
        ],
      },
    ],
  });

export const familyCodeBody = familyCodeInput.meta({ examples: [{ code: 'hd3fuu77zktk4hfxkthnt6bz4mt50bme' }] });
export const familyCodeQuery = z.object({ code: z.string().optional().describe('with GET and no body: the family code') });
export const familyActivateOut = z
  .object({ code: z.string(), subscription: z.object({ start_at: rempDate.nullable(), end_at: rempDate.nullable(), code: z.string(), access: z.array(z.string()) }) })
  .meta({ examples: [{ code: 'hd3fuu77zktk4hfxkthnt6bz4mt50bme', subscription: { start_at: '2026-03-02T08:30:00+00:00', end_at: '2027-03-01T09:00:00+00:00', code: 'member_year', access: ['web'] } }] });
export const familyDeactivateOut = z
  .object({ code: z.string(), status: z.literal('canceled'), new_code: z.string().optional().describe('for an accepted code: the fresh code that takes its seat') })
  .meta({ examples: [{ code: 'vjvewvhf1mdu49ejua482il1037lpydk', status: 'canceled', new_code: 'eokr9rj8w027oefmroib1n2h1sq5361o' }] });

const err = (example: Record<string, unknown>) => rempError.meta({ examples: [example] });
export const errors = {
  payload: err({ status: 'error', message: 'Payload error', errors: ['subscription_type_id: must be a positive whole number'] }),
  unauthorized: err({ status: 'error', message: 'Not authorized: no credentials', error: 'no_authorization' }),
  tooLarge: err({ status: 'error', message: 'Request body is too large' }),
  rateLimited: err({ status: 'error', message: 'Too many failed login attempts, try again later', error: 'rate_limited' }),
  notFound: err({ status: 'error', message: 'User not found', code: 'user_not_found' }),
  unavailable: err({ status: 'error', message: 'the change could not be saved; retry with the same Idempotency-Key', error: 'service_unavailable' }),
  familyNotFound: err({ message: 'Family request code [hd3fuu77zktk4hfxkthnt6bz4mt50bme] not found', code: 'family_request_not_found' }),
  familyInvalid: err({ message: 'Family request code [hd3fuu77zktk4hfxkthnt6bz4mt50bme] expired', code: 'family_request_expired' }),
  familyStatus: err({ message: 'Family request code [hd3fuu77zktk4hfxkthnt6bz4mt50bme] has wrong status: accepted', code: 'family_request_wrong_status' }),
};
