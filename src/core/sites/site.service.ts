/**
 * The sites module's use cases (ApisCP's sites: add, edit, suspend, delete, collect, SSO, scopes,
 * account groups), one file per use case or close family; doors import them from here.
 */
export * from './site-targets.js';
export * from './site-options.js';
export * from './add-site.js';
export * from './edit-sites.js';
export * from './site-lifecycle.js';
export * from './site-info.js';
export * from './site-sso.js';
export * from './site-scopes.js';
export * from './account-groups.js';
export * from './plan-inheritance.js';
