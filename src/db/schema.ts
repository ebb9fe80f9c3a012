import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string | T | undefined, string | T>;

export interface SettingsTable {
  key: string;
  value: string;
}

export interface OperatorKeysTable {
  id: Generated<number>;
  name: string;
  key_digest: string;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export type ResellerStatus = 'pending' | 'active' | 'suspended';

export interface ResellersTable {
  id: Generated<number>;
  name: string;
  first_name: string | null;
  last_name: string | null;
  email_address: string;
  address: string | null;
  city: string | null;
  state: string | null;
  postal_code: string | null;
  country: string | null;
  phone: string | null;
  username: string;
  application_name: string | null;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  login_hostname: string | null;
  status: ResellerStatus;
  api_token: string | null;
  api_key_digest: string | null;
  approved_at: NullableTimestamp;
  suspended_at: NullableTimestamp;
  suspend_reason: string | null;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface PlanLimits {
  max_users?: number;
  max_domains?: number;
  max_mail_servers?: number;
}

export interface PlansTable {
  id: Generated<number>;
  uid: string;
  name: string;
  description: Generated<string>;
  position: Generated<number>;
  free_trial_days: Generated<number>;
  domain_cost_cents: Generated<number>;
  mailbox_cost_cents: Generated<number>;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  limits: Json<PlanLimits>;
  parent_id: number | null;
  service_defaults: Json<Record<string, unknown>>;
  dbname_template: ColumnType<string | null, string | null | undefined, string | null>;
  max_databases: ColumnType<number | null, number | null | undefined, number | null>;
  addons: ColumnType<string[], string[] | undefined, string[]>;
  /** `key=value`: new sites of the plan go only to nodes with that label (migration 0023). */
  node_label: ColumnType<string | null, string | null | undefined, string | null>;
  /** A SaaS plan's template database, copied for each new instance (migration 0024). */
  template_database: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export interface FeaturesTable {
  id: Generated<number>;
  code: string | null;
  name: string;
  blurb: Generated<string>;
  description: Generated<string>;
  position: Generated<number>;
  created_at: Generated<Date>;
}

export interface PlanFeaturesTable {
  plan_id: number;
  feature_id: number;
}

export type ClientStatus = 'active' | 'suspended' | 'cancelled' | 'deleted';

export interface ClientsTable {
  id: Generated<number>;
  reseller_id: number | null;
  plan_id: number | null;
  name: string | null;
  email_address: string | null;
  user_count: number;
  status: Generated<ClientStatus>;
  suspended_at: NullableTimestamp;
  suspend_reason: string | null;
  cancelled_at: NullableTimestamp;
  deleted_at: NullableTimestamp;
  service_meta: Json<Record<string, unknown>>;
  invoice: string | null;
  parent_invoice: string | null;
  instance_uuid: ColumnType<string | null, string | null | undefined, string | null>;
  owner_user_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** The hosting node the site is placed on (migration 0022); null: not placed. */
  node_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** The db node holding the client's databases (migration 0024); null: none placed. */
  db_node_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** A SaaS instance's expiry, Odoo's expiration_datetime (migration 0032); null: none. */
  expires_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export type NodeState = 'active' | 'draining';

export interface NodesTable {
  id: Generated<number>;
  name: string;
  roles: string[];
  labels: ColumnType<Record<string, string>, Record<string, string> | string | undefined, Record<string, string> | string>;
  state: Generated<NodeState>;
  enrol_token_digest: string | null;
  enrol_token_expires_at: NullableTimestamp;
  token_digest: string | null;
  enrolled_at: NullableTimestamp;
  /** The node's desired-state counter (migration 0022 says why it is per node). */
  version: ColumnType<string | number, number | undefined, number | string>;
  agent_version: string | null;
  capacity: ColumnType<unknown, string | null | undefined, string | null>;
  drivers: ColumnType<unknown, string | null | undefined, string | null>;
  last_heartbeat_at: NullableTimestamp;
  last_usage_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type NodeObjectKind = 'site' | 'database' | 'db_user' | 'relay_domain';

export interface NodeObjectsTable {
  node_id: number;
  kind: NodeObjectKind;
  object_id: string;
  client_id: number | null;
  version: ColumnType<string | number, number | string, number | string>;
  state: 'present' | 'absent';
  spec: ColumnType<unknown, string, string>;
  applied_version: ColumnType<string | number | null, number | string | null | undefined, number | string | null>;
  error: string | null;
  reported_at: NullableTimestamp;
}

/** A database a site's client asked for on its db node (migration 0026). */
export interface SiteDatabasesTable {
  id: Generated<number>;
  client_id: number;
  engine: 'mysql' | 'pgsql';
  name: string;
  version: ColumnType<string | number | null, number | null | undefined, number | string | null>;
  created_at: Timestamp;
}

/** The last size of a site's databases per engine, as its db node reported it (migration 0026). */
export interface SiteDbUsageTable {
  client_id: number;
  engine: 'mysql' | 'pgsql';
  node_id: number | null;
  storage_bytes: ColumnType<string | number, number | string, number | string>;
  sampled_at: Timestamp;
}

/** A SaaS instance's own database on its db node, and the node's latest report of it (migration 0025). */
/** An instance's users as its db node read them from res_users (migration 0031): the rows of one digest. */
export interface InstanceReportedUsersTable {
  client_id: number;
  digest: string;
  position: number;
  login: string;
  name: string | null;
  active: boolean;
  share: boolean;
}

/** Names the control plane's own relay missed while relay nodes held the domains (migration 0031). */
export interface RelayMissedNamesTable {
  name: string;
  since: ColumnType<Date, Date | string, Date | string>;
}

export interface InstanceDatabasesTable {
  client_id: number;
  name: string;
  template: string;
  owner_role: string;
  owner_verifier: string | null;
  connection_limit: number;
  size_bytes: ColumnType<string | number | null, number | null | undefined, number | null>;
  active_users: ColumnType<number | null, number | null | undefined, number | null>;
  sampled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  over_storage: ColumnType<boolean, boolean | undefined, boolean>;
  over_users: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: ColumnType<Date, Date | string, Date | string>;
  has_res_users: ColumnType<boolean | null, boolean | null | undefined, boolean | null>;
  /** The digest of the user list kept in instance_reported_users; '' for a list kept before digests. */
  users_digest: ColumnType<string | null, string | null | undefined, string | null>;
  users_total: ColumnType<number | null, number | null | undefined, number | null>;
  files_count: ColumnType<number | null, number | null | undefined, number | null>;
  files_bytes: ColumnType<string | number | null, number | null | undefined, number | null>;
  users_reported_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface SiteUsageTable {
  client_id: number;
  node_id: number | null;
  sampled_at: Timestamp;
  storage_bytes: ColumnType<string | number, number | string, number | string>;
  transfer_counter: ColumnType<string | number, number | string, number | string>;
  period_begin: Timestamp;
  period_transfer_bytes: ColumnType<string | number, number | string | undefined, number | string>;
  over_transfer: Generated<boolean>;
}

/** A site over its storage quota (files and databases), the crossing already announced (migration 0028). */
export interface SiteStorageOverTable {
  client_id: number;
  since: Timestamp;
}

export interface SiteUsageDailyTable {
  client_id: number;
  day: ColumnType<string, string, string>;
  storage_bytes: ColumnType<string | number, number | string, number | string>;
  transfer_bytes: ColumnType<string | number, number | string | undefined, number | string>;
}

export type DomainStatus = 'initializing' | 'ready' | 'unknown';

export interface DomainsTable {
  id: Generated<number>;
  client_id: number;
  reseller_id: number | null;
  name: string;
  position: number;
  status: Generated<DomainStatus>;
  mail_servers: ColumnType<string[], string[] | undefined, string[]>;
  released_at: NullableTimestamp;
  /** When the domain first became ready (migration 0018). */
  ready_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Timestamp;
}

export type UserRole = 'operator' | 'reseller' | 'client_admin' | 'portal' | 'end_user';

export interface UsersTable {
  id: Generated<number>;
  role: UserRole;
  reseller_id: number | null;
  client_id: number | null;
  login: string;
  name: string | null;
  email: string | null;
  password_hash: string | null;
  /** An instance user's password as Odoo hashes it (pbkdf2_sha512), for its database's res_users; null: none known. */
  odoo_password_hash: string | null;
  disabled_at: NullableTimestamp;
  created_at: Generated<Date>;
}

export interface SsoTokensTable {
  id: Generated<number>;
  token_digest: string;
  user_id: number;
  client_id: number | null;
  purpose: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  created_at: Generated<Date>;
}

export interface SessionsTable {
  id: Generated<number>;
  token_digest: string;
  user_id: number;
  client_id: number | null;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  origin_client_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** The reseller whose login link opened the session (or the session it was switched from). */
  via_reseller_id: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: Generated<Date>;
}

export interface CaptchasTable {
  id: string;
  question: string;
  answer_digests: string[];
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  created_at: Generated<Date>;
}

export interface RateLimitsTable {
  bucket: string;
  hits: number;
  window_ends_at: Timestamp;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: Json<Record<string, unknown>>;
  state: Generated<JobState>;
  lane: string | null;
  run_at: Timestamp;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  last_error: string | null;
  locked_by: string | null;
  locked_until: NullableTimestamp;
  singleton_key: string | null;
  client_id: number | null;
  reseller_id: number | null;
  created_at: Generated<Date>;
  updated_at: Timestamp;
  finished_at: NullableTimestamp;
}

/** One day of one reseller's changes (one of 8 slots; reseller 0 is none), kept by triggers (0018). */
export interface StatsDailyTable {
  day: ColumnType<string, string, string>;
  reseller_id: number;
  slot: number;
  clients_created: number;
  clients_cancelled: number;
  clients_restored: number;
  domains_added: number;
  domains_removed: number;
  signups: number;
  signups_decided: number;
}

/** A reseller's running totals (one of 8 slots), kept by the same triggers. */
export interface StatsTotalsTable {
  reseller_id: number;
  slot: number;
  clients: number;
  domains: number;
  pending: number;
}

/** Rows per status (migration 0021): every client, unreleased domains, succeeded jobs; summed over slots. */
export interface StatsStatusTable {
  kind: 'clients' | 'domains' | 'jobs';
  status: string;
  slot: number;
  n: ColumnType<string, string | number, string | number>;
}

export interface JobLanesTable {
  lane: string;
  holder: string | null;
  lease_until: NullableTimestamp;
}

export type AuditActorKind = 'operator' | 'reseller' | 'user' | 'system' | 'public';

/** `{"field": {"before": x, "after": y}}` for the fields a mutation changed (creations: after only). */
export type AuditChanges = Record<string, { before?: unknown; after?: unknown }>;

export interface AuditEventsTable {
  id: Generated<number>;
  occurred_at: Timestamp;
  actor_kind: AuditActorKind;
  actor_id: number | null;
  reseller_id: number | null;
  action: string;
  target_type: string;
  target_id: string;
  changes: Json<AuditChanges>;
  request_id: string | null;
  source_ip: string | null;
}

export type IdempotencyState = 'in_progress' | 'done';

export interface IdempotencyKeysTable {
  scope: string;
  key_digest: string;
  method: string;
  path: string;
  request_hash: string;
  state: Generated<IdempotencyState>;
  response_status: number | null;
  response_content_type: string | null;
  response_body: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface SaasAddonsTable {
  name: string;
  title: string;
  depends: ColumnType<string[], string[] | undefined, string[]>;
}

export interface InstanceAddonsTable {
  client_id: number;
  addon: string;
  installed_at: Generated<Date>;
}

export interface UserGroupsTable {
  user_id: number;
  group_xmlid: string;
}

export interface InstanceFilesTable {
  id: Generated<number>;
  client_id: number;
  name: string;
  size_bytes: number;
  /** null once moved into the instance's own database (moved_at set). */
  content: Buffer | null;
  sha256: string | null;
  moved_at: Date | null;
  created_at: Generated<Date>;
}

export interface Database {
  settings: SettingsTable;
  operator_keys: OperatorKeysTable;
  resellers: ResellersTable;
  plans: PlansTable;
  features: FeaturesTable;
  plan_features: PlanFeaturesTable;
  clients: ClientsTable;
  nodes: NodesTable;
  node_objects: NodeObjectsTable;
  site_databases: SiteDatabasesTable;
  site_db_usage: SiteDbUsageTable;
  site_usage: SiteUsageTable;
  site_storage_over: SiteStorageOverTable;
  instance_databases: InstanceDatabasesTable;
  instance_reported_users: InstanceReportedUsersTable;
  relay_missed_names: RelayMissedNamesTable;
  site_usage_daily: SiteUsageDailyTable;
  domains: DomainsTable;
  users: UsersTable;
  sso_tokens: SsoTokensTable;
  sessions: SessionsTable;
  captchas: CaptchasTable;
  rate_limits: RateLimitsTable;
  jobs: JobsTable;
  stats_daily: StatsDailyTable;
  stats_totals: StatsTotalsTable;
  stats_status: StatsStatusTable;
  job_lanes: JobLanesTable;
  audit_events: AuditEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  saas_addons: SaasAddonsTable;
  instance_addons: InstanceAddonsTable;
  user_groups: UserGroupsTable;
  instance_files: InstanceFilesTable;
  user_access_tokens: UserAccessTokensTable;
  api_tokens: ApiTokensTable;
  subscription_types: SubscriptionTypesTable;
  payments: PaymentsTable;
  payment_items: PaymentItemsTable;
  subscriptions: SubscriptionsTable;
  family_subscription_types: FamilySubscriptionTypesTable;
  family_requests: FamilyRequestsTable;
  subscription_clients: SubscriptionClientsTable;
  reseller_sessions: ResellerSessionsTable;
}

/** The client a user's subscriptions on a package grant (migration 0011). */
export interface SubscriptionClientsTable {
  client_id: number;
  user_id: number;
  plan_id: number;
  created_at: Generated<Date>;
}

export interface WebhookEndpointsTable {
  id: Generated<number>;
  /** Null: an operator endpoint, which receives every tenant's events. */
  reseller_id: number | null;
  url: string;
  /** Sealed under the master key (it is the HMAC key deliveries are signed with, so it must be readable). */
  secret: string;
  /** The master key `secret` is sealed under; null for a row an earlier version stored in plain text. */
  secret_key_id: string | null;
  event_types: string[];
  active: Generated<boolean>;
  created_at: Timestamp;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  endpoint_id: number;
  event_id: string;
  event_type: string;
  payload: Json<Record<string, unknown>>;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: NullableTimestamp;
  job_id: number | null;
  created_at: Timestamp;
}

export interface UserAccessTokensTable {
  id: Generated<number>;
  token_digest: string;
  user_id: number;
  created_at: Generated<Date>;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

export interface ApiTokensTable {
  id: Generated<number>;
  name: string;
  token_digest: string;
  /** The REMP endpoints (`/api/v1/...`) the token may call; empty: none. */
  allowed_paths: ColumnType<string[], string[] | undefined, string[]>;
  created_at: Generated<Date>;
  revoked_at: NullableTimestamp;
}

export type ExtensionMethod = 'start_now' | 'extend_same_type' | 'extend_family';

export interface SubscriptionTypesTable {
  id: Generated<number>;
  code: string;
  name: string;
  length_days: number;
  access: ColumnType<string[], string[] | undefined, string[]>;
  extension_method: Generated<ExtensionMethod>;
  plan_id: number | null;
  created_at: Generated<Date>;
}

export type PaymentStatus = 'form' | 'paid' | 'fail';

export interface PaymentsTable {
  id: Generated<number>;
  user_id: number;
  subscription_type_id: number | null;
  status: PaymentStatus;
  amount_cents: Generated<number>;
  meta: Json<Record<string, string>>;
  paid_at: NullableTimestamp;
  /** The payment a recurring charge renews (migration 0015). */
  parent_payment_id: Generated<number | null>;
  created_at: Generated<Date>;
}

export interface PaymentItemsTable {
  id: Generated<number>;
  payment_id: number;
  subscription_type_id: number | null;
  name: Generated<string>;
  count: number;
  price_cents: Generated<number>;
  meta: Json<Record<string, string>>;
}

export type SubscriptionKind = 'regular' | 'free' | 'donation' | 'gift' | 'special' | 'upgrade' | 'prepaid' | 'family';

export interface SubscriptionsTable {
  id: Generated<number>;
  user_id: number;
  subscription_type_id: number;
  start_time: Timestamp;
  end_time: Timestamp;
  is_paid: boolean;
  type: SubscriptionKind;
  note: string | null;
  meta: Json<Record<string, string>>;
  payment_id: number | null;
  renewed_subscription_id: number | null;
  created_at: Generated<Date>;
}

export type DonationMethod = 'copy' | 'fixed_days';

export interface FamilySubscriptionTypesTable {
  id: Generated<number>;
  master_subscription_type_id: number;
  slave_subscription_type_id: number | null;
  donation_method: DonationMethod;
  days: number | null;
  count: number;
  is_paid: boolean;
  created_at: Generated<Date>;
  /** Retired (migration 0015): no new codes, its unused codes can no longer be activated. */
  disabled_at: NullableTimestamp;
}

export type FamilyRequestStatus = 'created' | 'accepted' | 'canceled';

export interface FamilyRequestsTable {
  id: Generated<number>;
  code: string;
  master_user_id: number;
  master_subscription_id: number;
  family_subscription_type_id: number;
  subscription_type_id: number;
  status: Generated<FamilyRequestStatus>;
  slave_user_id: number | null;
  slave_subscription_id: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  opened_at: NullableTimestamp;
  accepted_at: NullableTimestamp;
  canceled_at: NullableTimestamp;
  expires_at: NullableTimestamp;
}

/** A reseller's web console session, opened with its login or its API token and key (migration 0012). */
export interface ResellerSessionsTable {
  id: Generated<number>;
  token_digest: string;
  reseller_id: number;
  user_id: number | null;
  method: 'password' | 'key';
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  created_at: Generated<Date>;
}
