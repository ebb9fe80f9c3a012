import type { paths } from '../../generated/schema';

// Shapes of the admin API the operator pages pass around, taken from the generated OpenAPI types.

type Json<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer T } } } } ? T : never;

export type Package = Json<'/admin/v1/packages', 'get'>[number];
export type Feature = Json<'/admin/v1/features', 'get'>[number];
export type Inheritance = Json<'/admin/v1/packages/{uid}/inheritance', 'get'>;
export type GroupChange = Json<'/admin/v1/account-groups/suspend', 'post'>;
export type GroupAction = GroupChange['action'];
export type SiteSummary = GroupChange['sites'][number];
export type Webhook = Json<'/admin/v1/webhooks', 'get'>[number];
export type WebhookEvent = NonNullable<paths['/admin/v1/webhooks']['post']['requestBody']>['content']['application/json']['event_types'][number];
export type AuditEvent = Json<'/admin/v1/audit', 'get'>['events'][number];
export type Settings = Json<'/admin/v1/settings', 'get'>;
export type OperatorKey = Json<'/admin/v1/keys', 'get'>[number];
export type ApiToken = Json<'/admin/v1/api-tokens', 'get'>[number];
export type RevokedUserTokens = Json<'/admin/v1/users/{user}/revoke-tokens', 'post'>;
export type HostingNode = Json<'/admin/v1/nodes', 'get'>[number];
export type NodeObjectPage = Json<'/admin/v1/nodes/{id}/objects', 'get'>;
