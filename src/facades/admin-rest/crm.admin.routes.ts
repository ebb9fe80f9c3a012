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
  app.post('/admin/v1/api-tokens', { schema: { tags, security, summary: 'Create a CRM API token allowed to call the listed endpoints (the token is shown once)', body: createApiTokenInput, response: { 201: apiTokenOut.extend({ token: z.string() }), ...errors } } }, async (req, reply) => {
    const created = await createApiToken(ctxOf(req), req.body ?? {});
    return reply.code(201).send({ ...toApiTokenOut(created), token: created.token });
  });
  app.get('/admin/v1/api-tokens', { schema: { tags, security, response: { 200: z.array(apiTokenOut), 401: s.adminError } } }, async (req) => (await listApiTokens(ctxOf(req))).map(toApiTokenOut));
  app.post(
    '/admin/v1/api-tokens/:id/revoke',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke a CRM API token: the CRM door refuses it from now on (403 no_authorization, as for any bad token). Revoking a revoked token answers it unchanged',
        params: s.idParams,
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
        response: { 200: s.revokedUserTokens, ...errors },
      },
    },
    async (req) => {
      const ref = (req.params as { user: string }).user;
      return revokeUserTokens(ctxOf(req), /^[0-9]{1,15}$/.test(ref) ? Number(ref) : ref);
    },
  );

  app.post('/admin/v1/subscription-types', { schema: { tags, security, body: createSubscriptionTypeInput, response: { 201: subscriptionTypeOut, ...errors } } }, async (req, reply) =>
    reply.code(201).send(toSubscriptionTypeOut(await createSubscriptionType(ctxOf(req), req.body ?? {}))),
  );
  app.get('/admin/v1/subscription-types', { schema: { tags, security, response: { 200: z.array(subscriptionTypeOut), 401: s.adminError } } }, async (req) => (await listSubscriptionTypes(ctxOf(req))).map(toSubscriptionTypeOut));

  app.post('/admin/v1/family-types', { schema: { tags, security, body: createFamilyTypeInput, response: { 201: familyTypeOut, ...errors } } }, async (req, reply) =>
    reply.code(201).send(toFamilyTypeOut(await createFamilyType(ctxOf(req), req.body ?? {}))),
  );
  app.get('/admin/v1/family-types', { schema: { tags, security, response: { 200: z.array(familyTypeOut), 401: s.adminError } } }, async (req) => (await listFamilyTypes(ctxOf(req))).map(toFamilyTypeOut));

  app.post('/admin/v1/family-types/:id/disable', { schema: { tags, security, summary: 'Retire a family type: no new codes from it, its unused codes stop working, accepted children keep theirs', params: s.idParams, response: { 200: familyTypeOut, ...errors } } }, async (req) => {
    return toFamilyTypeOut(await disableFamilyType(ctxOf(req), pathId(req.params, 'family type')));
  });

  app.patch('/admin/v1/family-codes/:code', {
    schema: {
      tags,
      security,
      summary: 'Set or clear (null) when a family code expires',
      params: z.object({ code: z.string() }),
      body: setFamilyCodeExpiryInput,
      response: { 200: rempFamilyCodeOut, ...errors },
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
        body: setClientOwnerInput,
        response: { 200: z.object({ client_id: z.number(), owner: z.object({ id: z.number(), email: z.string().nullable() }).nullable() }), ...errors },
      },
    },
    async (req) => {
      return setClientOwner(ctxOf(req), pathId(req.params, 'client'), req.body ?? {});
    },
  );

  // Handling a new subscription again (a replayed event) tops its codes up to the count, never beyond.
  app.post('/admin/v1/subscriptions/:id/family-requests', { schema: { tags, security, params: s.idParams, response: { 200: z.object({ created: z.number() }), ...errors } } }, async (req) => {
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
