import { z } from 'zod';

/** A REMP API path as the token's whitelist names it: `/api/v1/` then segments of safe characters. */
export const apiPath = z.string().regex(/^\/api\/v[0-9]+(\/[A-Za-z0-9_-]+)+$/, 'must be an API path such as /api/v1/subscriptions/create');

export const createApiTokenInput = z
  .object({
    name: z.string().trim().min(1, "can't be blank").max(200, 'is too long (maximum is 200 characters)'),
    allow: z.array(apiPath).max(100, 'at most 100 paths').default([]),
  })
  .strict();
export type CreateApiTokenInput = z.input<typeof createApiTokenInput>;

export interface ApiToken {
  id: number;
  name: string;
  allowed_paths: string[];
  created_at: Date;
  revoked_at: Date | null;
}

export const apiTokenOut = z.object({ id: z.number(), name: z.string(), allow: z.array(z.string()), created_at: z.string(), revoked_at: z.string().nullable() });
export const toApiTokenOut = (t: ApiToken) => ({ id: t.id, name: t.name, allow: t.allowed_paths, created_at: t.created_at.toISOString(), revoked_at: t.revoked_at ? t.revoked_at.toISOString() : null });
