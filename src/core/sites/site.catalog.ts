/**
 * ApisCP's services and their parameters, as billing modules set them (AddDomain `-c service,param=value`,
 * admin:add-site and admin:edit-site options): each with its type, value rules and help text.
 *
 * Some parameters are views of the client record that the other doors see too ("one truth"):
 * siteinfo.domain is the primary domain, aliases.aliases the other domains, siteinfo.email the
 * client's email, siteinfo.plan its package, billing.* the account-group columns, users.max the user
 * count. auth.* set the site administrator's password and are never stored as metadata. The rest are
 * kept in clients.service_meta and default to the plan's values, then to BASE_PLAN_DEFAULTS.
 */
export type ParamType = 'domain' | 'login' | 'email' | 'plan' | 'int' | 'bool' | 'invoice' | 'domains' | 'text' | 'enum' | 'password' | 'crypt' | 'dbprefix' | 'dbuser' | 'ips' | 'name';

export interface ParamSpec {
  type: ParamType;
  /**
   * Where the value lives: a column of the client record, the stored metadata (plan default), or the
   * site administrator's password (auth: hashed into the user, never stored as metadata).
   */
  store: 'record' | 'meta' | 'auth';
  /** null (or the text 'null', any case: WHMCS's "unlimited") is a value. */
  nullable?: boolean;
  /** The only value the parameter takes (accepted so billing modules may send it; anything else is refused). */
  fixed?: unknown;
  /** Numbers: the range; text: the length. */
  min?: number;
  max?: number;
  /** enum: the values taken (compared without case; stored as written here). */
  values?: readonly string[];
  /** '' means "the plan's value": the site's own value is dropped. */
  emptyIsDefault?: boolean;
  /** Sealed with the master keyring before it is stored, never shown (reads give null). */
  secret?: boolean;
  /** When unset and the service is enabled, read as a value derived from the site's admin login. */
  derive?: 'dbprefix' | 'dbuser';
  /** Shown by admin:get-plan, the packages editor and AddDomain --help. */
  help: string;
  /** Another door's name for a parameter (`service.param`): reads show that value, writes change it. */
  sameAs?: string;
}

const MB_MAX = 1024 * 1024 * 1024;
export const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;
/** Bytes in one of each size unit. */
export const UNIT_BYTES: Readonly<Record<(typeof SIZE_UNITS)[number], number>> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/**
 * A stored size in bytes: sizes are kept in MB with `units` reading back MB (see `units` below); a
 * unit written ApisCP's short way (K, M, G, T) or in lower case is read too; null for an unknown unit.
 */
export function sizeInBytes(size: number, units: unknown): number | null {
  const u = typeof units === 'string' && units.trim() !== '' ? units.trim().toUpperCase().replace(/^([KMGT])$/, '$1B') : 'MB';
  return Object.hasOwn(UNIT_BYTES, u) ? size * UNIT_BYTES[u as keyof typeof UNIT_BYTES] : null;
}
const enabled = (what: string): ParamSpec => ({ type: 'bool', store: 'meta', help: `${what} (1 or 0)` });
const units = (of: string): ParamSpec => ({
  type: 'enum',
  store: 'meta',
  values: SIZE_UNITS,
  help: `unit of ${of} given in the same call (B, KB, MB, GB, TB): the value is converted to MB (rounded up) and stored in MB, so this always reads back MB`,
});

const dbService = (engine: 'MySQL' | 'PostgreSQL', userMax: number): Record<string, ParamSpec> => ({
  enabled: enabled(`${engine} databases`),
  dbaseprefix: {
    type: 'dbprefix',
    store: 'meta',
    nullable: true,
    max: 40,
    derive: 'dbprefix',
    help: `prefix of the site's ${engine} database names: a letter, then letters, digits or "_", ending in "_" (at most 40); unset while enabled: the admin login + "_"`,
  },
  dbaseadmin: {
    type: 'dbuser',
    store: 'meta',
    nullable: true,
    max: userMax,
    derive: 'dbuser',
    help: `${engine} administrative user: a letter, then letters, digits or "_" (at most ${userMax}); unset while enabled: the admin login`,
  },
  dbasenum: { type: 'int', store: 'meta', nullable: true, min: 0, max: 999, help: `most ${engine} databases (0-999; null: no limit)` },
  passwd: { type: 'password', store: 'meta', secret: true, min: 7, max: 1024, help: `plain password of the ${engine} administrative user (7-1024 characters): stored sealed, never shown` },
});

export const SERVICES: Record<string, Record<string, ParamSpec>> = {
  siteinfo: {
    domain: { type: 'domain', store: 'record', help: 'primary domain of the site' },
    admin_user: { type: 'login', store: 'record', help: 'login of the site administrator' },
    email: { type: 'email', store: 'record', help: 'contact address of the site administrator' },
    plan: { type: 'plan', store: 'record', help: 'plan the site follows for every value it does not set ("": the default plan, basic)' },
    // Billing modules (WHMCS, Clientexec) send siteinfo,enabled=1 with every new site.
    enabled: { type: 'bool', store: 'record', fixed: 1, help: 'the core service every site has: always 1' },
  },
  auth: {
    tpasswd: { type: 'password', store: 'auth', min: 7, max: 1024, help: 'plain password of the site administrator (7-1024 characters); it signs in to the client console; never stored as given, never shown' },
    cpasswd: { type: 'crypt', store: 'auth', max: 255, help: 'crypt(3) hash of the site administrator\'s password: bcrypt ($2y$, $2a$, $2b$, cost 4-13) or SHA-crypt ($5$, $6$, at most 100000 rounds); never shown' },
  },
  mysql: dbService('MySQL', 32),
  pgsql: dbService('PostgreSQL', 63),
  diskquota: {
    quota: { type: 'int', store: 'meta', min: 0, max: MB_MAX, help: 'storage quota in MB (see units)' },
    units: units('diskquota,quota'),
    fquota: { type: 'int', store: 'meta', nullable: true, min: 0, max: 2 ** 31 - 1, help: 'most files (inodes) the site may have (null: no limit)' },
  },
  bandwidth: {
    enabled: enabled('bandwidth accounting'),
    threshold: { type: 'int', store: 'meta', nullable: true, min: 0, max: MB_MAX, help: 'monthly transfer allowed in MB (see units; null: no limit)' },
    units: units('bandwidth,threshold'),
    rollover: { type: 'int', store: 'meta', min: 1, max: 31, help: 'day of the month the transfer count starts again (1-31)' },
  },
  billing: {
    invoice: { type: 'invoice', store: 'record', nullable: true, help: 'billing invoice: marks the master of an account group' },
    parent_invoice: { type: 'invoice', store: 'record', nullable: true, help: 'invoice of the master account this site is subordinate to' },
  },
  aliases: {
    enabled: enabled('further domains (addon domains)'),
    max: { type: 'int', store: 'meta', nullable: true, min: 0, max: 10_000, help: 'most further domains the site may have (null: no limit)' },
    aliases: { type: 'domains', store: 'record', help: 'further domains of the site (setting it replaces the list)' },
  },
  // Limits shared with the SaaS portal and subscription doors. users,max is the HSP client's
  // user_count and the SaaS portal's max_users: one number, three names.
  users: {
    enabled: enabled('secondary users'),
    max: { type: 'int', store: 'record', nullable: true, min: 0, max: 1_000_000, help: 'most users the site may have (the HSP user_count); null and 0: no limit (read back as 0)' },
  },
  sites: {
    max: { type: 'int', store: 'meta', min: 0, max: 10_000, nullable: true, help: 'most databases/instances the site may have (null: no limit)' },
  },
  ssh: {
    enabled: enabled('shell access'),
    jail: enabled('every shell session jailed to the site'),
  },
  // The web role: a site whose resolved apache,enabled is 1 is placed on a node and served there
  // (an HSP client too: its package's value decides); php,enabled gives it a PHP pool.
  apache: { enabled: enabled('web hosting: the site is placed on a node with the web role and served there') },
  php: { enabled: enabled('PHP for the site\'s pages (a php-fpm pool running as the site\'s user)') },
  ftp: { enabled: enabled('FTP access') },
  logs: { enabled: enabled('web server access logs') },
  mail: { enabled: enabled('mail service') },
  ssl: { enabled: enabled('TLS certificates for the site\'s domains') },
  spamfilter: {
    enabled: enabled('inbound mail filtering'),
    provider: { type: 'enum', store: 'meta', values: ['spamassassin', 'rspamd'], emptyIsDefault: true, help: 'inbound spam filter: spamassassin or rspamd ("" means the plan\'s value)' },
  },
  rampart: {
    enabled: enabled('brute-force protection whitelisting delegated to the site'),
    max: { type: 'int', store: 'meta', nullable: true, min: -1, max: 4096, help: 'most whitelist entries the site may add (-1: the server default, null: no limit, else 0-4096)' },
    whitelist: { type: 'ips', store: 'meta', max: 4096, help: 'IPv4/IPv6 addresses (or address/prefix) never blocked for the site; empty entries are dropped' },
  },
  cgroup: {
    enabled: enabled('resource limits'),
    memory: { type: 'int', store: 'meta', nullable: true, min: 1, max: 16 * 1024 * 1024, help: 'memory limit in MB (null: no limit)' },
    cpu: { type: 'int', store: 'meta', nullable: true, min: 1, max: 1_000_000, help: 'CPU limit as ApisCP counts it (null: no limit)' },
    cpuweight: { type: 'int', store: 'meta', nullable: true, min: 1, max: 262_144, help: 'relative CPU weight against other sites (null: the default)' },
    proclimit: { type: 'int', store: 'meta', nullable: true, min: 0, max: 4096, help: 'most processes at once (0-4096; null: no limit)' },
    ioweight: { type: 'int', store: 'meta', nullable: true, min: 1, max: 10_000, help: 'relative disk I/O weight (null: the default)' },
    readbw: { type: 'int', store: 'meta', nullable: true, min: 1, max: 1_000_000, help: 'disk read limit in MB/s (null: no limit)' },
    writebw: { type: 'int', store: 'meta', nullable: true, min: 1, max: 1_000_000, help: 'disk write limit in MB/s (null: no limit)' },
    readiops: { type: 'int', store: 'meta', nullable: true, min: 1, max: 10_000_000, help: 'disk read operations per second (null: no limit)' },
    writeiops: { type: 'int', store: 'meta', nullable: true, min: 1, max: 10_000_000, help: 'disk write operations per second (null: no limit)' },
  },
  dns: {
    enabled: enabled('DNS hosting'),
    provider: { type: 'name', store: 'meta', nullable: true, max: 32, help: 'DNS handler of the site (builtin, aws, cloudflare, digitalocean, linode, vultr, ...; null: none)' },
    key: { type: 'text', store: 'meta', nullable: true, secret: true, max: 1024, help: 'credentials of the DNS provider: stored sealed, never shown' },
  },
  ipinfo: {
    enabled: enabled('the site has IPv4 addressing'),
    namebased: enabled('the site shares an IP address (0: it gets its own from the pool)'),
  },
  // The SaaS portal's names for the same limits (its do_upgrade_database params), so a billing
  // system that speaks the portal's words reads and sets the one value.
  saas_client: {
    max_users: { type: 'int', store: 'record', min: 0, max: 1_000_000, sameAs: 'users.max', help: 'the SaaS portal name of users,max (0: no limit)' },
    total_storage_limit: { type: 'int', store: 'meta', min: 0, max: MB_MAX, sameAs: 'diskquota.quota', help: 'the SaaS portal name of diskquota,quota, in MB' },
  },
};

/**
 * The built-in base every plan chain ends at (ApisCP's plan skeleton): a value for every parameter a
 * plan may set, so a plan shows what each one resolves to.
 */
export const BASE_PLAN_DEFAULTS: Record<string, Record<string, unknown>> = {
  mysql: { enabled: 1, dbaseprefix: null, dbaseadmin: null, dbasenum: null },
  pgsql: { enabled: 1, dbaseprefix: null, dbaseadmin: null, dbasenum: null },
  diskquota: { quota: 1024, units: 'MB', fquota: null },
  bandwidth: { enabled: 1, threshold: null, units: 'MB', rollover: 1 },
  aliases: { enabled: 1, max: null },
  users: { enabled: 1 },
  sites: { max: null },
  ssh: { enabled: 1, jail: 1 },
  apache: { enabled: 1 },
  php: { enabled: 1 },
  ftp: { enabled: 1 },
  logs: { enabled: 1 },
  mail: { enabled: 1 },
  ssl: { enabled: 1 },
  spamfilter: { enabled: 1, provider: 'rspamd' },
  rampart: { enabled: 1, max: null, whitelist: [] },
  cgroup: { enabled: 1, memory: null, cpu: null, cpuweight: null, proclimit: null, ioweight: null, readbw: null, writebw: null, readiops: null, writeiops: null },
  dns: { enabled: 1, provider: 'builtin' },
  ipinfo: { enabled: 1, namebased: 1 },
};

/** A value and the parameter that says its unit: given together, the value is converted to MB. */
export const UNIT_PARAMS: { service: string; value: string; units: string }[] = [
  { service: 'diskquota', value: 'quota', units: 'units' },
  { service: 'bandwidth', value: 'threshold', units: 'units' },
];
