/**
 * The one wire contract between the control plane and `hostplane agent` (`/agent/v1`).
 *
 * Both sides import this file and nothing else of each other: the server validates what agents send
 * with it, and the agent validates what the server answers with it, so a change here is a change of
 * protocol version. Additive, optional fields keep v1; anything else is `/agent/v2`.
 *
 * The model is level-triggered (docs/adr/0019): the server keeps, per node, the desired objects and a
 * version that grows in the same transaction as every change to them; the agent pulls the objects
 * changed since the version it holds, makes them true, and reports per object what it applied.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

export const AGENT_API_PREFIX = '/agent/v1';

/** A node's roles; a node may hold several. */
export const NodeRole = z.enum(['web', 'db', 'relay']);
export type NodeRole = z.infer<typeof NodeRole>;

/**
 * The kinds of desired object: `site` (web role), `database` (a SaaS instance's database) and
 * `db_user` (a site's database user; both db role), `relay_domain` (relay role). A kind's spec is
 * defined next to its `WireObject` entries; one name for every kind used on the wire.
 */
export const ObjectKind = z.enum(['site', 'database', 'db_user', 'relay_domain']);
export type ObjectKind = z.infer<typeof ObjectKind>;

/**
 * Names that end up in nginx config, file paths and system user names. The server refuses anything
 * else at its doors; the agent checks again, because config must never be built from unchecked text.
 */
export const WireDomain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/, 'an A-label domain name');
export const WireUserName = z.string().regex(/^[a-z][a-z0-9]{0,31}$/, 'a plain system user name');

/** A web site as the web role makes it true: a user, a home, a server block, maybe a PHP pool. */
export const SiteSpec = z.object({
  siteId: z.number().int().positive(),
  /** The ApisCP name (`site12`); also the system user and the directory under the agent's sites dir. */
  name: WireUserName,
  domain: WireDomain,
  aliases: z.array(WireDomain).max(500),
  status: z.enum(['active', 'suspended']),
  /** Shown on the 503 page (HTML-escaped by the agent); null when none or the operator hides reasons. */
  suspendReason: z.string().max(1000).nullable(),
  php: z.boolean(),
});
export type SiteSpec = z.infer<typeof SiteSpec>;

/** A database identifier as both servers take it quoted: a letter, then letters, digits or `_`. */
export const WireDbName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'a plain database identifier');

/**
 * A site's database user on a db node (`site12-mysql`, `site12-pgsql`) and the databases it owns. The
 * password travels only as the hash the server stores: MariaDB's mysql_native_password hash
 * (`*` and 40 hex digits) or a PostgreSQL SCRAM-SHA-256 verifier; null keeps whatever the node has
 * (a new user then gets a password nobody knows). `passwordRef` names the password the hash was made
 * from, so the control plane hashes again only when the password changes.
 */
export const DbUserSpec = z
  .object({
    siteId: z.number().int().positive(),
    engine: z.enum(['mariadb', 'pgsql']),
    user: WireDbName,
    prefix: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,38}_$/, 'a database name prefix ending in _'),
    /** dbasenum: most databases; null means no limit. */
    maxDatabases: z.number().int().nonnegative().nullable(),
    databases: z.array(WireDbName).max(999),
    status: z.enum(['active', 'suspended']),
    passwordHash: z.string().regex(/^(\*[0-9A-F]{40}|SCRAM-SHA-256\$[0-9]{4,7}:[A-Za-z0-9+/=]{4,64}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44})$/, 'a password hash').nullable(),
    passwordRef: z.string().max(64).nullable(),
  })
  .refine((s) => s.databases.every((d) => d.startsWith(s.prefix) && d.length > s.prefix.length && d.length <= (s.engine === 'mariadb' ? 64 : 63)), 'every database name starts with the prefix')
  .refine((s) => s.maxDatabases === null || s.databases.length <= s.maxDatabases, 'more databases than maxDatabases')
  .refine((s) => s.passwordHash === null || s.passwordHash.startsWith(s.engine === 'mariadb' ? '*' : 'SCRAM-'), 'a password hash of the wrong engine');
export type DbUserSpec = z.infer<typeof DbUserSpec>;

/** A mail server the relay forwards to: an A-label host name or a bare IPv4/IPv6 literal. */
export const WireMailServer = z.union([WireDomain, z.string().max(45).regex(/^[0-9a-f:.]+$/, 'an IP address').refine((v) => isIP(v) !== 0, 'an IP address')]);

/**
 * A domain as the relay role makes it true: Postfix (or the http target) accepts mail for `domain` and
 * forwards it to `mailServers`, tried in that order (the client's own priority order). Every relay
 * node gets the same spec for a domain; which relay is tried first is the domain's MX records' business.
 */
export const RelayDomainSpec = z.object({
  domain: WireDomain,
  mailServers: z.array(WireMailServer).max(64),
});
export type RelayDomainSpec = z.infer<typeof RelayDomainSpec>;

/** A relay object's id is its domain name; a domain name is up to 253 characters. */
const RelayObjectId = z.string().min(1).max(253);

/**
 * A name that ends up in SQL on a db node (database, role, template): a plain lower-case identifier,
 * which PostgreSQL takes as it is and which fits its 63-byte limit. The agent quotes it anyway.
 */
export const WireSqlName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a plain lower-case SQL identifier');

/**
 * A PostgreSQL SCRAM-SHA-256 verifier (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`),
 * which `CREATE ROLE ... PASSWORD` stores as it is: the owner's password itself never travels.
 */
export const ScramVerifier = z.string().max(300).regex(/^SCRAM-SHA-256\$[0-9]{1,7}:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}:[A-Za-z0-9+/]+={0,2}$/, 'a SCRAM-SHA-256 verifier');

/**
 * A login inside an instance (Odoo's `res_users.login`): 1 to 254 characters, no spaces or control
 * characters. It reaches the instance's database only as a bound parameter.
 */
export const InstanceLogin = z.string().min(1).max(254).regex(/^[^\s\p{Cc}]+$/u, 'no spaces or control characters');

/**
 * Odoo's own hash of a password (passlib's pbkdf2_sha512: `$pbkdf2-sha512$<rounds>$<salt>$<checksum>`
 * in passlib's adapted base64), which Odoo stores in `res_users.password` as it is: the password
 * itself never travels.
 */
export const OdooPasswordHash = z.string().regex(/^\$pbkdf2-sha512\$[1-9][0-9]{0,6}\$[./A-Za-z0-9]{11,128}\$[./A-Za-z0-9]{86}$/, 'a pbkdf2_sha512 password hash');

/**
 * A user the instance's database must hold (docs/adr/0027): made in its `res_users` (with a partner,
 * an internal user: share false) where missing, its `active` set as given. `groups` are Odoo group
 * xml ids (`base.group_user`) the user is added to where the database knows them. Users of the
 * instance not listed are the instance's own business and left alone. `passwordHash` (absent: none
 * known) is written into `res_users.password` when the user is made, and on an existing user only
 * when it differs from the hash the node last wrote for that login (ADR 27's addendum), so a
 * password changed inside the instance stays until a door sets a new one.
 */
export const InstanceUserSpec = z.object({
  login: InstanceLogin,
  name: z.string().max(256),
  active: z.boolean(),
  groups: z.array(z.string().regex(/^[a-z0-9_]{1,64}\.[a-z0-9_]{1,128}$/)).max(64),
  passwordHash: OdooPasswordHash.optional(),
});
export type InstanceUserSpec = z.infer<typeof InstanceUserSpec>;

/** The most bytes one instance file holds (the doors refuse more). */
export const MAX_INSTANCE_FILE_BYTES = 8 * 1024 * 1024;

/**
 * A file the instance's database must hold in Odoo's `ir_attachment` (docs/adr/0027, addendum): only
 * what names and checks it. The content is not desired state: the node fetches it once from
 * `GET /agent/v1/files/{id}` (only the node holding the instance's database may), checks `sha256`
 * and `size`, and inserts it with the external id `hostplane.instance_file_<id>` (ir_model_data), so
 * a retry finds it and inserts nothing. Results of the object name the ids the database holds.
 */
export const InstanceFileSpec = z.object({
  id: z.number().int().positive(),
  name: z.string().min(1).max(255),
  mimetype: z.string().max(127).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/, 'a mime type'),
  size: z.number().int().nonnegative().max(MAX_INSTANCE_FILE_BYTES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256'),
});
export type InstanceFileSpec = z.infer<typeof InstanceFileSpec>;

/** The path a node fetches a staged file's content from (raw bytes, application/octet-stream). */
export const instanceFilePath = (id: number): string => `/files/${id}`;

/**
 * A SaaS instance's own PostgreSQL database (db role): copied from `template`, owned by `owner`
 * (who logs in with the password `ownerPassword` verifies; null: no password login), limited to
 * `connectionLimit` sessions. `limits` go into the instance's own `ir_config_parameter` where the
 * template has that table (Odoo's `saas_client.*` keys). Suspended: no new connections, open
 * sessions ended. Absent: dumped to the agent's archives, then dropped with its owner.
 */
export const DatabaseSpec = z.object({
  clientId: z.number().int().positive(),
  name: WireSqlName,
  template: WireSqlName,
  owner: WireSqlName,
  ownerPassword: ScramVerifier.nullable(),
  connectionLimit: z.number().int().min(1).max(10_000),
  limits: z.object({
    /** saas_client.max_users; 0: no limit. */
    maxUsers: z.number().int().nonnegative(),
    /** saas_client.total_storage_limit in MB; 0: no limit. */
    storageMb: z.number().int().nonnegative(),
    /** saas_client.expiration_datetime (UTC); null: none. */
    expiresAt: z.string().datetime().nullable(),
  }),
  status: z.enum(['active', 'suspended']),
  /** Users to hold in its res_users where it has that table; absent from older control planes: none pushed. */
  users: z.array(InstanceUserSpec).max(5000).optional(),
  /** Files to hold in its ir_attachment, sent once it reported having one; absent: none. */
  files: z.array(InstanceFileSpec).max(1000).optional(),
});
export type DatabaseSpec = z.infer<typeof DatabaseSpec>;

/**
 * One desired object. `id` is unique per kind on a node (`site12`). `state: 'absent'` asks the node to
 * remove it (archive first where the role says so); the server forgets it once the node reports it.
 */
// Plain unions: zod refuses a discriminated union whose discriminator ('kind') repeats a value.
export const SiteObject = z.union([
  z.object({ kind: z.literal('site'), id: z.string().min(1).max(64), version: z.number().int().nonnegative(), state: z.literal('present'), spec: SiteSpec }),
  z.object({ kind: z.literal('site'), id: z.string().min(1).max(64), version: z.number().int().nonnegative(), state: z.literal('absent'), spec: SiteSpec.partial().nullable() }),
]);
export type SiteObject = z.infer<typeof SiteObject>;
/** The id is the domain name, the same on every relay node. */
export const RelayDomainObject = z.union([
  z.object({ kind: z.literal('relay_domain'), id: RelayObjectId, version: z.number().int().nonnegative(), state: z.literal('present'), spec: RelayDomainSpec }),
  z.object({ kind: z.literal('relay_domain'), id: RelayObjectId, version: z.number().int().nonnegative(), state: z.literal('absent'), spec: RelayDomainSpec.partial().nullable() }),
]);
export type RelayDomainObject = z.infer<typeof RelayDomainObject>;
export const DbUserWireObject = z.union([
  z.object({ kind: z.literal('db_user'), id: z.string().min(1).max(64), version: z.number().int().nonnegative(), state: z.literal('present'), spec: DbUserSpec }),
  // Removing needs the engine and names of what to archive and drop: the last spec, whole.
  z.object({ kind: z.literal('db_user'), id: z.string().min(1).max(64), version: z.number().int().nonnegative(), state: z.literal('absent'), spec: DbUserSpec.nullable() }),
]);
export type DbUserWireObject = z.infer<typeof DbUserWireObject>;

/** A SaaS instance's database (db role); the id is `db<client id>`. */
export const DatabaseObject = z.union([
  z.object({ kind: z.literal('database'), id: z.string().min(1).max(64), version: z.number().int().nonnegative(), state: z.literal('present'), spec: DatabaseSpec }),
  z.object({ kind: z.literal('database'), id: z.string().min(1).max(64), version: z.number().int().nonnegative(), state: z.literal('absent'), spec: DatabaseSpec.partial().nullable() }),
]);
export type DatabaseObject = z.infer<typeof DatabaseObject>;
export const WireObject = z.union([...SiteObject.options, ...DbUserWireObject.options, ...RelayDomainObject.options, ...DatabaseObject.options]);
export type WireObject = z.infer<typeof WireObject>;

/** Settings the server hands every node with its state, so operators change them in one place. */
export const NodeSettings = z.object({
  heartbeatIntervalSeconds: z.number().int().positive(),
  usageIntervalSeconds: z.number().int().positive(),
  /** Days a node keeps `<data dir>/archives/` files (deleted sites' homes, dropped databases' dumps); 0 or absent: forever. */
  archiveRetentionDays: z.number().int().nonnegative().optional(),
});
export type NodeSettings = z.infer<typeof NodeSettings>;

/** `POST /agent/v1/enrol` with `Authorization: Bearer <enrolment token>`: the one-time token buys the node's credential. */
export const EnrolResponse = z.object({
  node: z.object({ id: z.number().int().positive(), name: z.string(), roles: z.array(NodeRole) }),
  /** The node's own bearer token from now on; the agent keeps it in its data dir (mode 0600). */
  token: z.string().min(20),
});
export type EnrolResponse = z.infer<typeof EnrolResponse>;

/**
 * `GET /agent/v1/state?since=<version>&wait=<seconds>`: without `since`, every object of the node
 * (`full: true`); with it, the objects whose version is greater, waiting up to `wait` (at most 60)
 * seconds for one to appear. `version` is what to send as `since` next time. `full` is also true when
 * every object of the node is newer than `since` (after a restore of the control plane, ADR 26): the
 * answer is then the whole state, and the agent removes what it holds that the answer does not list.
 */
export const StateQuery = z.object({
  since: z.coerce.number().int().nonnegative().optional(),
  wait: z.coerce.number().int().min(0).max(60).optional(),
});
export const StateResponse = z.object({
  node: z.object({ id: z.number().int().positive(), name: z.string(), roles: z.array(NodeRole) }),
  version: z.number().int().nonnegative(),
  full: z.boolean(),
  objects: z.array(WireObject),
  settings: NodeSettings,
});
export type StateResponse = z.infer<typeof StateResponse>;

/** `POST /agent/v1/status`: per object, the version now true on the node, or why it is not. */
export const ObjectResult = z.object({
  kind: ObjectKind,
  // 253: a relay_domain's id is its domain name; other kinds' ids are at most 64.
  id: z.string().min(1).max(253),
  version: z.number().int().nonnegative(),
  ok: z.boolean(),
  /** Present when `ok` is false; a short message, never a secret. */
  error: z.string().max(2000).optional(),
  /** Databases: the ids of the files its spec listed that its ir_attachment now holds (ok or not). */
  files: z.array(z.number().int().positive()).max(1000).optional(),
});
export const StatusRequest = z.object({ results: z.array(ObjectResult).max(20_000) });
export type StatusRequest = z.infer<typeof StatusRequest>;

/** `POST /agent/v1/heartbeat`: liveness, capacity and the health of each role's driver. */
export const HeartbeatRequest = z.object({
  agentVersion: z.string().max(64),
  capacity: z.object({
    diskFreeBytes: z.number().nonnegative(),
    diskTotalBytes: z.number().nonnegative(),
    load1: z.number().nonnegative(),
    cpus: z.number().int().positive(),
    memFreeBytes: z.number().nonnegative().optional(),
  }),
  drivers: z.record(z.string().max(32), z.object({ ok: z.boolean(), error: z.string().max(2000).optional() })),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;
export const HeartbeatResponse = z.object({ serverTime: z.string(), settings: NodeSettings });

/**
 * `POST /agent/v1/usage`: samples per object. `transferBytes` is a counter that only grows while the
 * site stays on this node (bytes sent, read from the site's access log), so a resent sample counts
 * once and the server derives a period's transfer as a difference; a smaller value means a reset.
 * A `database` sample carries the database's size as `storageBytes`, 0 as `transferBytes`, and
 * `activeUsers` where it has Odoo's res_users.
 */
/**
 * The most users a database sample lists in `users`: what agents before list digests sent (the first
 * ones by id). Agents now send `usersDigest` instead and the whole list, when the control plane
 * wants it, as `userLists` pages.
 */
export const MAX_REPORTED_USERS = 200;

/** The most users one page of a list carries: a page stays under 1 MB whatever its logins hold. */
export const MAX_USERS_PER_PAGE = 1000;

/** A user as a db node read it from an instance's res_users (any login the instance holds, cut to size). */
export const ReportedInstanceUser = z.object({
  login: z.string().max(254),
  name: z.string().max(256).nullable(),
  active: z.boolean(),
  share: z.boolean(),
});
export type ReportedInstanceUser = z.infer<typeof ReportedInstanceUser>;

/** A list digest: SHA-256 in hex, computed by the node over its whole list of users (docs/adr/0027). */
const UsersDigest = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in hex');

export const UsageSample = z.object({
  kind: ObjectKind,
  id: z.string().min(1).max(64),
  at: z.string().datetime(),
  storageBytes: z.number().int().nonnegative(),
  transferBytes: z.number().int().nonnegative(),
  /** Databases: active internal users (Odoo's res_users, share false); absent where there is no such table. */
  activeUsers: z.number().int().nonnegative().optional(),
  /**
   * Databases: null: the database has no res_users. A list: the first MAX_REPORTED_USERS by id, as
   * agents before `usersDigest` sent it. Absent: not listed here (see `usersDigest`), or not read this
   * time (a suspended database is not entered).
   */
  users: z.array(ReportedInstanceUser).max(MAX_REPORTED_USERS).nullable().optional(),
  /**
   * Databases: the digest of every user of res_users, in id order, as the node read them now. The
   * list itself is sent only when the control plane answers that it holds another one (`usersWanted`).
   */
  usersDigest: UsersDigest.optional(),
  /** How many rows res_users holds in all, when `users` is a list or `usersDigest` is given. */
  usersTotal: z.number().int().nonnegative().optional(),
  /** Databases: the files of its ir_attachment (count and bytes); null: no such table; absent: not read. */
  files: z.object({ count: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() }).nullable().optional(),
});

/**
 * One page of a database's whole list of users (res_users in id order): `offset` is the position of
 * its first user in the list, `total` the list's length, `digest` the list's digest as the sample
 * named it. The control plane keeps the list once every page of one digest has arrived in order.
 */
export const UserListPage = z.object({
  id: z.string().min(1).max(64),
  at: z.string().datetime(),
  digest: UsersDigest,
  total: z.number().int().nonnegative().max(10_000_000),
  offset: z.number().int().nonnegative().max(10_000_000),
  users: z.array(ReportedInstanceUser).max(MAX_USERS_PER_PAGE),
});
export type UserListPage = z.infer<typeof UserListPage>;

export const UsageRequest = z.object({
  samples: z.array(UsageSample).max(20_000),
  /** Pages of the user lists the control plane asked for (`usersWanted`); absent: none. */
  userLists: z.array(UserListPage).max(100).optional(),
});
export type UsageRequest = z.infer<typeof UsageRequest>;

export const UsageResponse = z.object({
  /** Samples counted (pages of user lists are not samples). */
  accepted: z.number().int(),
  /** Samples of objects this node does not hold, or older than what was counted: left out. */
  ignored: z.number().int(),
  /** Databases among the samples whose user list the control plane holds under another digest: send it. */
  usersWanted: z.array(z.string().max(64)).optional(),
});
export type UsageResponse = z.infer<typeof UsageResponse>;

/** Every `/agent/v1` error body: a stable code and a sentence. 401 means the token is no longer good. */
export const AgentErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
