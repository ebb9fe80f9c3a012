import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../generated/schema';

// The API client is generated from the server's OpenAPI document at build time
// (npm run build: dist/openapi-export.js, then openapi-typescript); nothing here is typed by hand.

export type Reseller = paths['/admin/v1/resellers']['get']['responses'][200]['content']['application/json'][number];
export type Client = paths['/admin/v1/clients']['get']['responses'][200]['content']['application/json']['clients'][number];
export type Job = paths['/admin/v1/jobs']['get']['responses'][200]['content']['application/json']['jobs'][number];
export type Overview = paths['/admin/v1/overview']['get']['responses'][200]['content']['application/json'];
export type OperatorSession = paths['/admin/v1/session']['get']['responses'][200]['content']['application/json'];

let csrfToken: string | undefined;
/** The session's anti-forgery token (from GET or POST /admin/v1/session), sent with every change. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (csrfToken && !['GET', 'HEAD', 'OPTIONS'].includes(request.method)) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(csrf);

/** The admin API's error body, as a readable sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields?: Record<string, string[]>,
  ) {
    super(message);
  }
}

type ErrorBody = { error?: { code?: string; message?: string; fields?: Record<string, string[]> } } | undefined;

/** The data of a call, or an ApiError with the server's own message. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = error as ErrorBody;
  const fields = body?.error?.fields;
  const detail = fields ? Object.entries(fields).map(([k, v]) => `${k} ${v.join(', ')}`).join('; ') : '';
  throw new ApiError(response.status, [body?.error?.message ?? `request failed (${response.status})`, detail].filter(Boolean).join(': '), fields);
}
