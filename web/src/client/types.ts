import type { paths } from '../../generated/schema';

// The client area's shapes, read off the generated OpenAPI types (never typed by hand).
type Ok<P extends keyof paths, M extends 'get' | 'post'> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer T } } } } ? T : never;

export type ClientSessionState = Ok<'/client/v1/session', 'get'>;
export type ClientSession = Extract<ClientSessionState, { signed_in: true }>;
export type DomainsPage = Ok<'/client/v1/domains', 'get'>;
export type Domain = DomainsPage['domains'][number];
export type FamilyCodesPage = Ok<'/client/v1/family-codes', 'get'>;
export type FamilyCode = FamilyCodesPage['codes'][number];
export type Instance = Ok<'/client/v1/instance', 'get'>;
export type Databases = Ok<'/client/v1/databases', 'get'>;
export type DatabaseService = Databases['mysql'];
