import { useQuery } from '@tanstack/react-query';
import type { paths } from '../../generated/schema';
import { api, ApiError, setCsrfToken } from '../api/client';

// The reseller area talks to the HSP reseller API (/v1) through the generated client; these types
// are read from the generated OpenAPI paths, never written by hand.

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
export type ResellerSession = Extract<Json<paths['/v1/session']['get']['responses'][200]>, { signed_in: true }>;
export type ClientRow = Json<paths['/v1/clients/search']['get']['responses'][200]>['clients'][number];
export type HspClient = Json<paths['/v1/clients/{id}']['get']['responses'][200]>;
export type SellablePackage = Json<paths['/v1/packages']['get']['responses'][200]>[number];
export type Webhook = Json<paths['/v1/webhooks']['get']['responses'][200]>[number];
export type Delivery = Json<paths['/v1/webhooks/{id}/deliveries']['get']['responses'][200]>[number];
export type AuditEvent = Json<paths['/v1/audit']['get']['responses'][200]>['events'][number];
export type DomainStatus = Json<paths['/v1/domains/{domain_name}/status']['get']['responses'][200]>['status'];
export type WebhookEventType = NonNullable<paths['/v1/webhooks']['post']['requestBody']>['content']['application/json']['event_types'][number];

/** Every event a webhook may subscribe to; `satisfies` keeps the list in step with the API's enum. */
export const WEBHOOK_EVENTS = ['client.created', 'client.updated', 'client.cancelled', 'domain.ready', 'domain.failed', 'reseller.approved'] as const satisfies readonly WebhookEventType[];

type HspErrorBody = { errors?: Record<string, string[]> } | undefined;

const FIELD_NAMES: Record<string, string> = { package_uid: 'Package', user_count: 'Users', email_address: 'Email', name: 'Name', domains: 'Domains', url: 'URL', event_types: 'Events', login: 'Login', password: 'Password' };

/** The data of an HSP call, or an ApiError whose message is the API's own words. */
export async function hsp<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const errors = (error as HspErrorBody)?.errors ?? {};
  const { base, ...fields } = errors;
  const parts = [...(base ?? []), ...Object.entries(fields).map(([k, v]) => `${FIELD_NAMES[k.split('.')[0]!] ?? k}${k.includes('.') ? ` (${k.split('.').slice(1).join('.')})` : ''} ${v.join(', ')}`)];
  throw new ApiError(response.status, parts.join('; ') || `request failed (${response.status})`, Object.keys(fields).length ? fields : undefined);
}

// The HSP API answers a bare 401 with a Basic challenge for integrators; the console's requests say
// who they are, so the browser is never asked to show its own password prompt.
api.use({
  onRequest({ request }) {
    if (new URL(request.url).pathname.startsWith('/v1/')) request.headers.set('x-requested-with', 'hostplane-console');
    return request;
  },
});

export const SESSION_KEY = ['session', 'reseller'] as const;

export function useResellerSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async (): Promise<ResellerSession | null> => {
      const state = await hsp(api.GET('/v1/session'));
      const session = state.signed_in ? state : null;
      setCsrfToken(session?.csrf_token);
      return session;
    },
    staleTime: 60_000,
  });
}

export const RESELLER = '/reseller';
