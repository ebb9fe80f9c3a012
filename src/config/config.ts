import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { parseMasterKeys } from '../core/shared/keyring.js';
import type { PgTimeouts } from '../db/pg-guard.js';

const hostname = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const DAY_MS = 86_400_000;
const dbMs = (fallback: number) => z.coerce.number().int().min(0).max(DAY_MS).default(fallback);

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  HOSTPLANE_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  HOSTPLANE_PUBLIC_URL: z
    .string()
    .refine((v) => {
      try {
        const u = new URL(v);
        // An origin only: a query, fragment or credentials would leak into every link built from it.
        return (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && !v.includes('?') && !v.includes('#') && !u.username && !u.password;
      } catch {
        return false;
      }
    }, 'must be an http(s) origin such as https://panel.example.com')
    .optional(),
  HOSTPLANE_RELAY_HOSTS: z
    .string()
    .default('relay1.hostplane.test,relay2.hostplane.test')
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase().replace(/\.$/, '')))
    .refine((hosts) => hosts.length >= 1 && hosts.every((h) => hostname.test(h)), 'must be a comma-separated list of host names'),
  HOSTPLANE_RELAY_PRIORITY_STEP: z.coerce.number().int().min(1).max(1000).default(10),
  HOSTPLANE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOSTPLANE_BODY_LIMIT: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(256 * 1024),
  HOSTPLANE_DEMO: z.enum(['auto', 'on', 'off']).default('auto'),
  HOSTPLANE_RELAY_DRIVER: z.enum(['postfix-maps', 'http']).default('postfix-maps'),
  HOSTPLANE_RELAY_RELOAD_COMMAND: z.string().max(2000).optional(),
  HOSTPLANE_RELAY_HTTP_URL: z
    .string()
    .refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL')
    .optional(),
  HOSTPLANE_RELAY_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
  HOSTPLANE_WORKER: z.enum(['on', 'off']).default('on'),
  HOSTPLANE_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
  HOSTPLANE_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  HOSTPLANE_RPC_DB: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a database name of letters, digits, ".", "_" or "-"')
    .default('hostplane'),
  HOSTPLANE_FAMILY_RENEWAL_GAP_SECONDS: z.coerce.number().int().min(0).max(10 * 365 * 86_400).default(0),
  // The message never repeats the value: it is a key.
  HOSTPLANE_MASTER_KEY: z
    .string()
    .refine((v) => {
      try {
        parseMasterKeys(v);
        return true;
      } catch {
        return false;
      }
    }, 'must be one or more 32-byte keys, each as base64 (44 characters) or hex (64 characters), newest first, separated by commas')
    .optional(),
  // PostgreSQL deadlines (src/db/pg-guard.ts explains the defaults); 0 turns one off.
  HOSTPLANE_DB_CONNECT_TIMEOUT_MS: dbMs(10_000),
  HOSTPLANE_DB_STATEMENT_TIMEOUT_MS: dbMs(30_000),
  HOSTPLANE_DB_LOCK_TIMEOUT_MS: dbMs(10_000),
  HOSTPLANE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: dbMs(60_000),
  /** Default: the statement timeout plus 5 s, so that the server's own cancel comes first. */
  HOSTPLANE_DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(0).max(DAY_MS).optional(),
  HOSTPLANE_DB_STALL_MS: dbMs(2_000),
  HOSTPLANE_DB_PROBE_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  HOSTPLANE_CRM_TOKEN_IDLE_SECONDS: z.coerce.number().int().min(60).max(366 * 86_400).default(30 * 86_400),
  HOSTPLANE_CREDENTIAL_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  // Hosting nodes (ADR 0019): when one counts as unhealthy, and the intervals handed to agents.
  HOSTPLANE_NODE_UNHEALTHY_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  HOSTPLANE_NODE_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  HOSTPLANE_NODE_USAGE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  HOSTPLANE_NODE_ARCHIVE_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  // A local agent in the server's process (a one-machine install): node "local", role web.
  HOSTPLANE_WITH_AGENT: z.enum(['1', '0', 'true', 'false', 'on', 'off']).default('0'),
  HOSTPLANE_AGENT_NGINX_PREFIX: z.string().min(1).max(4096).optional(),
  HOSTPLANE_AGENT_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(80),
  HOSTPLANE_AGENT_WEB_DRIVER: z.enum(['nginx', 'files']).default('nginx'),
  HOSTPLANE_AGENT_NGINX_BIN: z.string().min(1).max(4096).optional(),
  HOSTPLANE_AGENT_PHP_FPM_BIN: z.string().min(1).max(4096).optional(),
  // PEM files: the certificate (chain) and its private key; both or neither.
  HOSTPLANE_TLS_CERT: z.string().max(4096).optional(),
  HOSTPLANE_TLS_KEY: z.string().max(4096).optional(),
});

/** Every variable loadConfig reads, in the order it declares them (the config file's template lists each). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  publicUrl: string;
  relayHosts: string[];
  relayPriorityStep: number;
  logLevel: string;
  bodyLimit: number;
  /** Seed the demo catalog on an empty embedded database. */
  demo: 'auto' | 'on' | 'off';
  relayDriver: 'postfix-maps' | 'http';
  relayReloadCommand: string | undefined;
  relayHttpUrl: string | undefined;
  relayHttpTimeoutMs: number;
  /** Run job workers inside `serve` (off when `hostplane worker` processes run them). */
  worker: boolean;
  /** How long one webhook delivery may take, connection to last byte. */
  webhookTimeoutMs: number;
  /** Let webhooks target loopback and private addresses (an operator's opt-in; off guards against SSRF). */
  webhookAllowPrivate: boolean;
  /** The portal database name Odoo-style RPC clients must send as `db`. */
  rpcDb: string;
  /** Family renewal: a parent subscription ending at most this long before its successor starts hands its children over. */
  familyRenewalGapSeconds: number;
  /** Master keys sealing secrets in the database, newest first; unset: the master-key file in the data dir. */
  masterKey: string | undefined;
  /** PostgreSQL deadlines in ms (0: none); PGlite, one in-process connection, has no use for them. */
  dbTimeouts: PgTimeouts;
  /** A CRM user token unused this long stops working; each use extends it (sliding). */
  crmTokenIdleSeconds: number;
  /** How long a verified API credential is kept in memory (ADR 0015); 0 asks the database on every request. */
  credentialCacheMs: number;
  /** A node without a heartbeat this long is unhealthy. */
  nodeUnhealthySeconds: number;
  /** How often agents send a heartbeat, and usage samples. */
  nodeHeartbeatSeconds: number;
  nodeUsageSeconds: number;
  nodeArchiveDays: number;
  /** `serve` also runs a local agent (node "local", role web) with these web-role settings. */
  localAgent: { enabled: boolean; nginxPrefix: string | undefined; httpPort: number; webDriver: 'nginx' | 'files'; nginxBin: string | undefined; phpFpmBin: string | undefined };
  /** Serve every door over HTTPS with this certificate chain and key (PEM), read and checked at start-up. */
  tls: { cert: Buffer; key: Buffer } | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads and validates every variable at once, so an operator sees all mistakes in one go. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.HOSTPLANE_RELAY_DRIVER === 'http' && !e.HOSTPLANE_RELAY_HTTP_URL) {
    throw new ConfigError(['HOSTPLANE_RELAY_HTTP_URL: is required when HOSTPLANE_RELAY_DRIVER is http']);
  }
  const tls = loadTls(e.HOSTPLANE_TLS_CERT, e.HOSTPLANE_TLS_KEY);
  const listenHost = e.HOST === '0.0.0.0' || e.HOST === '::' ? '127.0.0.1' : e.HOST;
  const publicHost = listenHost.includes(':') ? `[${listenHost}]` : listenHost; // IPv6 literals need brackets in a URL
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.HOSTPLANE_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    publicUrl: e.HOSTPLANE_PUBLIC_URL ? new URL(e.HOSTPLANE_PUBLIC_URL).origin : `${tls ? 'https' : 'http'}://${publicHost}:${e.PORT}`,
    relayHosts: e.HOSTPLANE_RELAY_HOSTS,
    relayPriorityStep: e.HOSTPLANE_RELAY_PRIORITY_STEP,
    logLevel: e.HOSTPLANE_LOG_LEVEL,
    bodyLimit: e.HOSTPLANE_BODY_LIMIT,
    demo: e.HOSTPLANE_DEMO,
    relayDriver: e.HOSTPLANE_RELAY_DRIVER,
    relayReloadCommand: e.HOSTPLANE_RELAY_RELOAD_COMMAND,
    relayHttpUrl: e.HOSTPLANE_RELAY_HTTP_URL,
    relayHttpTimeoutMs: e.HOSTPLANE_RELAY_HTTP_TIMEOUT_MS,
    worker: e.HOSTPLANE_WORKER === 'on',
    webhookTimeoutMs: e.HOSTPLANE_WEBHOOK_TIMEOUT_MS,
    webhookAllowPrivate: e.HOSTPLANE_WEBHOOK_ALLOW_PRIVATE === 'true',
    rpcDb: e.HOSTPLANE_RPC_DB,
    familyRenewalGapSeconds: e.HOSTPLANE_FAMILY_RENEWAL_GAP_SECONDS,
    masterKey: e.HOSTPLANE_MASTER_KEY,
    dbTimeouts: {
      connectMs: e.HOSTPLANE_DB_CONNECT_TIMEOUT_MS,
      statementMs: e.HOSTPLANE_DB_STATEMENT_TIMEOUT_MS,
      lockMs: e.HOSTPLANE_DB_LOCK_TIMEOUT_MS,
      idleInTransactionMs: e.HOSTPLANE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      queryMs: e.HOSTPLANE_DB_QUERY_TIMEOUT_MS ?? (e.HOSTPLANE_DB_STATEMENT_TIMEOUT_MS ? e.HOSTPLANE_DB_STATEMENT_TIMEOUT_MS + 5_000 : 0),
      stallMs: e.HOSTPLANE_DB_STALL_MS,
      probeMs: e.HOSTPLANE_DB_PROBE_TIMEOUT_MS,
    },
    crmTokenIdleSeconds: e.HOSTPLANE_CRM_TOKEN_IDLE_SECONDS,
    credentialCacheMs: e.HOSTPLANE_CREDENTIAL_CACHE_MS,
    nodeUnhealthySeconds: e.HOSTPLANE_NODE_UNHEALTHY_SECONDS,
    nodeHeartbeatSeconds: e.HOSTPLANE_NODE_HEARTBEAT_SECONDS,
    nodeUsageSeconds: e.HOSTPLANE_NODE_USAGE_SECONDS,
    nodeArchiveDays: e.HOSTPLANE_NODE_ARCHIVE_DAYS,
    localAgent: {
      enabled: ['1', 'true', 'on'].includes(e.HOSTPLANE_WITH_AGENT),
      nginxPrefix: e.HOSTPLANE_AGENT_NGINX_PREFIX ? path.resolve(e.HOSTPLANE_AGENT_NGINX_PREFIX) : undefined,
      httpPort: e.HOSTPLANE_AGENT_HTTP_PORT,
      webDriver: e.HOSTPLANE_AGENT_WEB_DRIVER,
      nginxBin: e.HOSTPLANE_AGENT_NGINX_BIN,
      phpFpmBin: e.HOSTPLANE_AGENT_PHP_FPM_BIN,
    },
    tls,
  };
}

function readPem(variable: string, file: string, what: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(path.resolve(file));
  } catch (err) {
    throw new ConfigError([`${variable}: cannot read ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  if (!data.toString('latin1').includes('-----BEGIN ')) throw new ConfigError([`${variable}: ${JSON.stringify(file)} is not a PEM file (expected ${what})`]);
  return data;
}

/**
 * The TLS certificate and key, checked now rather than at the first handshake: both files readable,
 * each parsable, and the key the certificate's own. A problem is a start-up error naming the variable;
 * no message ever quotes the key file's content.
 */
function loadTls(certFile: string | undefined, keyFile: string | undefined): Config['tls'] {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    const [set, missing] = certFile === undefined ? ['HOSTPLANE_TLS_KEY', 'HOSTPLANE_TLS_CERT'] : ['HOSTPLANE_TLS_CERT', 'HOSTPLANE_TLS_KEY'];
    throw new ConfigError([`${missing}: is required when ${set} is set (HTTPS needs both the certificate and its private key)`]);
  }
  const cert = readPem('HOSTPLANE_TLS_CERT', certFile, 'a PEM certificate');
  const key = readPem('HOSTPLANE_TLS_KEY', keyFile, 'a PEM private key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigError([`HOSTPLANE_TLS_CERT: ${JSON.stringify(certFile)} holds no valid certificate`]);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError([`HOSTPLANE_TLS_KEY: ${JSON.stringify(keyFile)} holds no valid unencrypted private key`]);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new ConfigError([`HOSTPLANE_TLS_KEY: the key in ${JSON.stringify(keyFile)} does not belong to the certificate in ${JSON.stringify(certFile)}`]);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError([`HOSTPLANE_TLS_CERT: the certificate and key cannot serve TLS (${(err as Error).message})`]);
  }
  return { cert, key };
}
