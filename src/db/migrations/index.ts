import type { Migration, MigrationProvider } from 'kysely';
import { initial } from './0001-initial.js';
import { jobs } from './0002-jobs.js';
import { audit } from './0003-audit.js';
import { idempotency } from './0004-idempotency.js';
import { webhooks } from './0005-webhooks.js';
import { jobClaims } from './0006-job-claims.js';
import { sites } from './0007-sites.js';
import { saas } from './0008-saas.js';
import { auditIndexOrder } from './0009-audit-index-order.js';
import { subscriptions } from './0010-subscriptions.js';
import { subscriptionClients } from './0011-subscription-clients.js';
import { resellerLogins } from './0012-reseller-logins.js';
import { clientListIndexes } from './0014-client-list-indexes.js';
import { familyRenewals } from './0015-family-renewals.js';
import { secretsAtRest } from './0016-secrets-at-rest.js';
import { revocation } from './0017-revocation.js';
import { dashboardAggregates } from './0018-dashboard-aggregates.js';
import { credentialNotify } from './0019-credential-notify.js';
import { overviewCounts } from './0021-overview-counts.js';
import { nodes } from './0022-nodes.js';
import { placementUsage } from './0023-placement-usage.js';
import { dbAndRelayRoles } from './0024-db-and-relay-roles.js';
import { instanceDatabases } from './0025-instance-databases.js';
import { siteDatabases } from './0026-site-databases.js';
import { instanceUsers } from './0027-instance-users.js';
import { siteStorageOver } from './0028-site-storage-over.js';
import { instanceUserOdooHash } from './0029-instance-user-odoo-hash.js';
import { instanceFilesMove } from './0030-instance-files-move.js';
import { reportedUsersAndRelayMissed } from './0031-reported-users-and-relay-missed.js';
import { instanceExpiry } from './0032-instance-expiry.js';

const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-jobs': jobs,
  '0003-audit': audit,
  '0004-idempotency': idempotency,
  '0005-webhooks': webhooks,
  '0006-job-claims': jobClaims,
  '0007-sites': sites,
  '0008-saas': saas,
  '0009-audit-index-order': auditIndexOrder,
  '0010-subscriptions': subscriptions,
  '0011-subscription-clients': subscriptionClients,
  '0012-reseller-logins': resellerLogins,
  '0014-client-list-indexes': clientListIndexes,
  '0015-family-renewals': familyRenewals,
  '0016-secrets-at-rest': secretsAtRest,
  '0017-revocation': revocation,
  '0018-dashboard-aggregates': dashboardAggregates,
  '0019-credential-notify': credentialNotify,
  '0021-overview-counts': overviewCounts,
  '0022-nodes': nodes,
  '0023-placement-usage': placementUsage,
  '0024-db-and-relay-roles': dbAndRelayRoles,
  '0025-instance-databases': instanceDatabases,
  '0026-site-databases': siteDatabases,
  '0027-instance-users': instanceUsers,
  '0028-site-storage-over': siteStorageOver,
  '0029-instance-user-odoo-hash': instanceUserOdooHash,
  '0030-instance-files-move': instanceFilesMove,
  '0031-reported-users-and-relay-missed': reportedUsersAndRelayMissed,
  '0032-instance-expiry': instanceExpiry,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
