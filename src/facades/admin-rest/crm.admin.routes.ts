import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { apiTokenOut, createApiTokenInput, toApiTokenOut } from '../../core/api-tokens/api-token.schema.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../core/api-tokens/api-token.service.js';
import type { Ctx } from '../../core/context.js';
import { createEndUser } from '../../core/end-users/end-user.service.js';
import { revokeUserTokens } from '../../core/end-users/end-user.tokens.js';
import { createFamilyTypeInput, familyTypeOut, rempFamilyCodeOut, setFamilyCodeExpiryInput, toFamilyTypeOut, toRempFamilyCode } from '../../core/family/family.schema.js';
import { createFamilyType, disableFamilyType, listFamilyTypes, replayNewSubscription, setFamilyCodeExpiry } from '../../core/family/family.service.js';
import { createSubscriptionTypeInput, subscriptionTypeOut, toSubscriptionTypeOut } from '../../core/subscriptions/subscription.schema.js';
import { createSubscriptionType, listSubscriptionTypes } from '../../core/subscriptions/subscription.service.js';
import { setClientOwner, setClientOwnerInput } from '../../core/subscriptions/service-access.service.js';
import { pathId } from '../../http/query.js';
import * as s from './admin.schemas.js';

// An operator user's console session is an operator too (changes need its CSRF token, as on every admin route).
const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const errors = { 401: s.adminError, 404: s.adminError, 409: s.adminError, 422: s.adminError };
const tags = ['Operator admin API: subscriptions'];

/** The operator side of the REMP CRM door: API tokens, subscription and family types, end users. */
export async function crmAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.post('/admin/v1/api-tokens', { schema: { tags, security, summary: 'Create a CRM API token allowed to call the listed endpoints (the token is shown once)', body: createApiTokenInput.meta(s.bodyExample({ name: 'billing', allow: ['/api/v1/subscriptions/create', '/api/v1/payments/create'] })), response: { 201: apiTokenOut.extend({ token: z.string().describe('shown only this once') }).meta({ examples: [{ ...s.apiTokenExample, token: 'Yq8Lr3Vx0Nc5Tz2Wm7Kb4Pd9Hf1Jg6Sa3Ue8Io5' }] }), ...errors } } }, async (req, reply) => {
    const created = await createApiToken(ctxOf(req), req.body ?? {});
    return reply.code(201).send({ ...toApiTokenOut(created), token: created.token });
  });
  app.get('/admin/v1/api-tokens', { schema: { tags, security, summary: 'Every CRM API token and the endpoints it may call (never the token itself)', response: { 200: z.array(apiTokenOut).meta({ examples: [[s.apiTokenExample]] }), 401: s.adminError } } }, async (req) => (await listApiTokens(ctxOf(req))).map(toApiTokenOut));
  app.post(
    '/admin/v1/api-tokens/:id/revoke',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke a CRM API token: the CRM door refuses it from now on (403 no_authorization, as for any bad token). Revoking a revoked token answers it unchanged',
        params: s.idParams,
        'x-no-request-body': true,
        response: { 200: apiTokenOut.meta({ examples: [{ id: 5, name: 'billing', allow: ['/api/v1/subscriptions/create'], created_at: '2026-03-01T09:00:00.000Z', revoked_at: '2026-03-02T10:15:00.000Z' }] }), ...errors },
      },
    },
    async (req) => toApiTokenOut(await revokeApiToken(ctxOf(req), pathId(req.params, 'API token'))),
  );

  // A CRM end user's access tokens (their sign-ins on the CRM door), by id or email.
  app.post(
    '/admin/v1/users/:user/revoke-tokens',
    {
      schema: {
        tags,
        security,
        summary: "Revoke every CRM access token of a user (by id or email): each of their sign-ins on the CRM door ends now; signing in again works",
        params: s.userRefParams,
        'x-no-request-body': true,
        response: { 200: s.revokedUserTokens, ...errors },
      },
    },
    async (req) => {
      const ref = (req.params as { user: string }).user;
      return revokeUserTokens(ctxOf(req), /^[0-9]{1,15}$/.test(ref) ? Number(ref) : ref);
    },
  );

  app.post('/admin/v1/subscription-types', { schema: { tags, security, summary: 'Create a subscription type (the CRM door names it by id: subscription_type_id)', body: createSubscriptionTypeInput.meta(s.bodyExample({ code: 'company_year', name: 'Company', length: 365, access: ['web'] })), response: { 201: subscriptionTypeOut.meta({ examples: [s.subscriptionTypeExample] }), ...errors } } }, async (req, reply) =>
    reply.code(201).send(toSubscriptionTypeOut(await createSubscriptionType(ctxOf(req), req.body ?? {}))),
  );
  app.get('/admin/v1/subscription-types', { schema: { tags, security, summary: 'Every subscription type, with the id the CRM door takes as subscription_type_id', response: { 200: z.array(subscriptionTypeOut).meta({ examples: [[s.subscriptionTypeExample]] }), 401: s.adminError } } }, async (req) => (await listSubscriptionTypes(ctxOf(req))).map(toSubscriptionTypeOut));

  app.post('/admin/v1/family-types', { schema: { tags, security, summary: "Make a subscription type a family parent: each of its subscriptions comes with codes for the child type", body: createFamilyTypeInput.meta(s.bodyExample({ parent: 'company_year', child: 'member_year', method: 'copy', count: 5, is_paid: true })), response: { 201: familyTypeOut.meta({ examples: [s.familyTypeExample] }), ...errors } } }, async (req, reply) =>
    reply.code(201).send(toFamilyTypeOut(await createFamilyType(ctxOf(req), req.body ?? {}))),
  );
  app.get('/admin/v1/family-types', { schema: { tags, security, summary: 'Every family type, retired ones too', response: { 200: z.array(familyTypeOut).meta({ examples: [[s.familyTypeExample]] }), 401: s.adminError } } }, async (req) => (await listFamilyTypes(ctxOf(req))).map(toFamilyTypeOut));

  app.post('/admin/v1/family-types/:id/disable', { schema: { tags, security, summary: 'Retire a family type: no new codes from it, its unused codes stop working, accepted children keep theirs', params: s.idParams, 'x-no-request-body': true, response: { 200: familyTypeOut.meta({ examples: [{ ...s.familyTypeExample, disabled_at: '2026-06-01T09:00:00.000Z' }] }), ...errors } } }, async (req) => {
    return toFamilyTypeOut(await disableFamilyType(ctxOf(req), pathId(req.params, 'family type')));
  });

  app.patch('/admin/v1/family-codes/:code', {
    schema: {
      tags,
      security,
      summary: 'Set or clear (null) when a family code expires',
      params: z.object({ code: z.string() }),
      body: setFamilyCodeExpiryInput.meta(s.bodyExample({ expires_at: '2026-12-31T23:59:59+00:00' })),
      response: { 200: rempFamilyCodeOut.meta({ examples: [s.familyCodeExample] }), ...errors },
    },
  }, async (req) => {
    return toRempFamilyCode(await setFamilyCodeExpiry(ctxOf(req), (req.params as { code: string }).code, req.body ?? {}));
  });

  // A client made elsewhere (a reseller's) gets an end user as owner: their subscriptions and family codes show in its client area.
  app.put(
    '/admin/v1/clients/:id/owner',
    {
      schema: {
        tags,
        security,
        summary: "Make an end user (by email) the owner of a client, or clear it with email: null; the owner's subscriptions and family codes show in the client area",
        params: s.idParams,
        body: setClientOwnerInput.meta(s.bodyExample({ email: 'boss@company.test' })),
        response: { 200: z.object({ client_id: z.number(), owner: z.object({ id: z.number(), email: z.string().nullable() }).nullable() }).meta({ examples: [{ client_id: 1, owner: { id: 2, email: 'boss@company.test' } }] }), ...errors },
      },
    },
    async (req) => {
      return setClientOwner(ctxOf(req), pathId(req.params, 'client'), req.body ?? {});
    },
  );

  // Handling a new subscription again (a replayed event) tops its codes up to the count, never beyond.
  app.post('/admin/v1/subscriptions/:id/family-requests', { schema: { tags, security, summary: "Handle a subscription's start again: top its family codes up to the family type's count (never beyond)", params: s.idParams, 'x-no-request-body': true, response: { 200: z.object({ created: z.number() }).meta({ examples: [{ created: 2 }] }), ...errors } } }, async (req) => {
    return replayNewSubscription(ctxOf(req), pathId(req.params, 'subscription'));
  });
}

/** `POST /admin/v1/users` without `operator: true`: an end user who signs in to the CRM door. */
export async function createEndUserFromAdmin(ctx: Ctx, body: Record<string, unknown>) {
  // The whole body goes to the use case, whose strict schema refuses fields it does not know.
  const { operator: _operator, ...fields } = body;
  const user = await createEndUser(ctx, fields);
  return { id: user.id, login: user.login, name: user.name, role: 'end_user' as const };
}
