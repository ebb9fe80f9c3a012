import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/config.js';
import { ctxFor, type CoreDeps, type CoreSettings } from './core/context.js';
import { CREDENTIALS_NOTIFY_CHANNEL, CredentialCache } from './core/credentials/credential.cache.js';
import { NODES_NOTIFY_CHANNEL } from './core/nodes/node-objects.repository.js';
import { NodeWaiter } from './core/nodes/node-waiter.js';
import { agentApiRoutes } from './facades/agent-api/agent-api.routes.js';
import { sendAgentError } from './facades/agent-api/agent.errors.js';
import { countOperatorKeys, createOperatorKey } from './core/credentials/credential.service.js';
import { openServerSecret, recordedSecretsKeyId, resealSecrets } from './core/secrets/secret.service.js';
import { Keyring, newMasterKey } from './core/shared/keyring.js';
import { beginKeyFileRotation, loadKeyring, masterKeyFile } from './config/master-key.js';
import { seedDemo, type DemoSeedResult } from './core/demo/seed-demo.js';
import { listResellers } from './core/resellers/reseller.service.js';
import { createDb, embeddedDataDir, holdsNoRelations, migrateDatabase, openConfiguredDatabase, pingDb, type DbHandle } from './db/database.js';
import { backupEmbeddedDataDir, backupFormatOf, backupPostgres, dumpEmbedded, restoreEmbedded, restorePostgres, writeBackupFile, type BackupFormat } from './db/backup.js';
import { rebuildAfterRestore, type RestoreRebuild } from './core/backups/backup.service.js';
import { adminRestRoutes } from './facades/admin-rest/admin.routes.js';
import { clientRestRoutes } from './facades/client-rest/client-rest.routes.js';
import { sendClientError } from './facades/client-rest/client-rest.errors.js';
import { consoleRoutes } from './facades/console/console.routes.js';
import { WEB_CONSOLE_ROOT, webConsoleRoutes } from './facades/console/web-console.routes.js';
import { operatorSessionRoutes } from './facades/admin-rest/operator-session.routes.js';
import { crmApiRoutes } from './facades/crm-api/crm.routes.js';
import { sendCrmError } from './facades/crm-api/crm.errors.js';
import { hspRestRoutes } from './facades/hsp-rest/hsp.routes.js';
import { sendHspError } from './facades/hsp-rest/hsp.errors.js';
import { sendAdminError } from './facades/admin-rest/admin.errors.js';
import { AppError } from './errors/app-error.js';
import { createHttpServer } from './http/server.js';
import { relayHandler } from './core/domains/domain-provisioning.js';
import { cleanupHandler } from './core/maintenance/maintenance.service.js';
import { pushInstanceUsersHandler } from './core/saas/instance-users.js';
import { serviceAccessHandler } from './core/subscriptions/service-access.service.js';
import { siteCleanupHandler } from './core/sites/site.service.js';
import { webhookDeliveryHandler } from './core/webhooks/webhook-delivery.js';
import { apiscpRoutes } from './facades/apiscp/apiscp.routes.js';
import { rewriteWsdlUrl } from './facades/apiscp/soap/soap.routes.js';
import { odooDispatcher, ODOO_VERSION } from './facades/odoo-rpc/odoo.dispatch.js';
import { odooRpcRoutes } from './facades/odoo-rpc/odoo-rpc.routes.js';
import { usageAgentRoutes } from './facades/agent-api/usage.agent.routes.js';
import { JobRunner, type JobRunnerOptions } from './jobs/job-runner.js';
import { JOBS_NOTIFY_CHANNEL } from './jobs/job.repository.js';
import { createRelayDriver } from './relay/create-relay-driver.js';
import type { RelayDriver, RelayDriverConfig } from './relay/relay-driver.js';

export { VERSION } from './version.js';
import { VERSION } from './version.js';

export interface App {
  server: FastifyInstance;
  /** Runs queued jobs; started by `serve` (unless HOSTPLANE_WORKER=off) and by `hostplane worker`. */
  jobs: JobRunner;
  dbHandle: DbHandle;
  deps: CoreDeps;
  logger: Logger;
  close(): Promise<void>;
}

export interface AppOptions {
  /** Replaces the configured relay driver (tests). */
  relayDriver?: RelayDriver;
  jobRunner?: JobRunnerOptions;
  logger?: Logger;
  /** An already-open database (tests pass one made from a migrated template). */
  dbHandle?: DbHandle;
  clock?: () => Date;
  /** Resolves webhook host names instead of the system resolver (tests stand in for DNS with it). */
  webhookResolveHost?: CoreSettings['webhookResolveHost'];
}

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.api_key', '*.key', '*.password', '*.token'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** The one composition root: database, core dependencies, and every door on one HTTP server. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config);
  const dbHandle = options.dbHandle ?? (await openDatabase(config));
  await migrateDatabase(dbHandle);

  // The master key comes from outside the database; without the one the database names, nothing starts.
  const keyring = loadKeyring(config, await recordedSecretsKeyId({ db: dbHandle.db }));
  const bootstrap = coreDeps(config, dbHandle, keyring, options.clock ?? (() => new Date()), logger, options.webhookResolveHost);
  const secret = await openServerSecret(ctxFor(bootstrap, { kind: 'system' }));
  const credentials = new CredentialCache({ ttlMs: config.credentialCacheMs });
  const nodeWaiter = new NodeWaiter();
  const deps: CoreDeps = {
    ...bootstrap,
    settings: { ...bootstrap.settings, secret },
    credentials,
    nodeWaiter,
    // `hostplane db backup` asks the server that holds the embedded data dir for a copy (ADR 0026).
    ...(dbHandle.kind === 'pglite' ? { embeddedBackup: () => dumpEmbedded(dbHandle) } : {}),
  };
  // Verified credentials are cached only while this process hears of every change to them (ADR 0015).
  const stopCredentialNotices = await dbHandle.listen(CREDENTIALS_NOTIFY_CHANNEL, (payload) => credentials.changed(payload), (up) => credentials.setListening(up));
  // Agents long-polling this process wake when their node's desired state commits (ADR 0019).
  const stopNodeNotices = await dbHandle.listen(NODES_NOTIFY_CHANNEL, (payload) => nodeWaiter.wake(payload));

  const relay = options.relayDriver ?? createRelayDriver(relayConfig(config));
  const jobs = new JobRunner(deps, [relayHandler(relay), cleanupHandler, webhookDeliveryHandler, siteCleanupHandler, serviceAccessHandler, pushInstanceUsersHandler], {
    wakeups: (wake) => dbHandle.listen(JOBS_NOTIFY_CHANNEL, wake),
    ...options.jobRunner,
  });

  const server = await createHttpServer({
    logger,
    bodyLimit: config.bodyLimit,
    version: VERSION,
    ready: () => pingDb(dbHandle.db, config.dbTimeouts.probeMs),
    unroutable: sendNotFoundByDoor,
    tls: config.tls,
    rewriteUrl: rewriteWsdlUrl,
  });
  await registerDoors(server, deps);
  await server.ready();

  return {
    server,
    jobs,
    dbHandle,
    deps,
    logger,
    close: async () => {
      // Long-polling agents are answered now rather than holding the close for up to a minute.
      nodeWaiter.close();
      await server.close();
      await jobs.stop();
      await stopCredentialNotices();
      await stopNodeNotices();
      if (!options.dbHandle) await dbHandle.close();
    },
  };
}

function coreDeps(config: Config, dbHandle: DbHandle, keyring: Keyring, clock: () => Date, log: Logger, webhookResolveHost?: CoreSettings['webhookResolveHost']): CoreDeps {
  return {
    db: dbHandle.db,
    clock,
    log,
    settings: {
      publicUrl: config.publicUrl,
      relayHosts: config.relayHosts,
      relayPriorityStep: config.relayPriorityStep,
      secret: '',
      keyring,
      webhookTimeoutMs: config.webhookTimeoutMs,
      webhookAllowPrivate: config.webhookAllowPrivate,
      webhookResolveHost,
      rpcDb: config.rpcDb,
      familyRenewalGapSeconds: config.familyRenewalGapSeconds,
      userTokenIdleSeconds: config.crmTokenIdleSeconds,
      nodes: { unhealthySeconds: config.nodeUnhealthySeconds, heartbeatSeconds: config.nodeHeartbeatSeconds, usageSeconds: config.nodeUsageSeconds, archiveDays: config.nodeArchiveDays },
    },
  };
}

/** Every door on one server, and the not-found answer in each door's format. */
export async function registerDoors(server: FastifyInstance, deps: CoreDeps): Promise<void> {
  await server.register(async (scope) => hspRestRoutes(scope, deps));
  await server.register(async (scope) => adminRestRoutes(scope, deps), { prefix: '' });
  await server.register(async (scope) => consoleRoutes(scope, deps));
  await server.register(async (scope) => clientRestRoutes(scope, deps));
  await server.register(async (scope) => operatorSessionRoutes(scope, deps));
  await server.register(async (scope) => webConsoleRoutes(scope, { root: WEB_CONSOLE_ROOT }));
  await server.register(async (scope) => apiscpRoutes(scope, deps));
  await server.register(async (scope) => crmApiRoutes(scope, deps));
  await server.register(async (scope) => odooRpcRoutes(scope, { call: odooDispatcher(deps), version: ODOO_VERSION }));
  await server.register(async (scope) => agentApiRoutes(scope, deps, [usageAgentRoutes]));
  server.setNotFoundHandler(sendNotFoundByDoor);
}

/** Unknown paths answer in the format of the door they were aimed at. */
function sendNotFoundByDoor(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = AppError.notFound('resource');
  if (req.url.startsWith('/admin/') || req.url.startsWith('/api/v1/cpcmd/')) return sendAdminError(reply, err);
  if (req.url.startsWith('/v1/')) return sendHspError(reply, err);
  if (req.url.startsWith('/client/')) return sendClientError(reply, err);
  if (req.url.startsWith('/api/v1/')) return sendCrmError(reply, err);
  if (req.url.startsWith('/agent/')) return sendAgentError(reply, err);
  return reply.code(404).send({ error: 'not found' });
}

/**
 * The OpenAPI document without a database or a listening socket: the doors only read settings while
 * they register. The build writes it for the web console's generated client.
 */
export async function openApiDocument(): Promise<unknown> {
  const noDb = new Proxy({}, { get: () => { throw new Error('no database while building the OpenAPI document'); } });
  const deps: CoreDeps = {
    db: noDb as CoreDeps['db'],
    clock: () => new Date(),
    log: pino({ level: 'silent' }),
    settings: { publicUrl: 'http://127.0.0.1:8080', relayHosts: [], relayPriorityStep: 10, secret: 'openapi', keyring: new Keyring([newMasterKey()], 'a throwaway key'), webhookTimeoutMs: 1000, webhookAllowPrivate: false, rpcDb: 'hostplane' },
  };
  const server = await createHttpServer({ logger: pino({ level: 'silent' }), bodyLimit: 1024, version: VERSION, ready: async () => {} });
  await registerDoors(server, deps);
  await server.ready();
  const doc = server.swagger();
  await server.close();
  return doc;
}

function relayConfig(config: Config): RelayDriverConfig {
  return {
    driver: config.relayDriver,
    dataDir: config.dataDir,
    ...(config.relayReloadCommand ? { reloadCommand: config.relayReloadCommand } : {}),
    ...(config.relayHttpUrl ? { httpUrl: config.relayHttpUrl } : {}),
    httpTimeoutMs: config.relayHttpTimeoutMs,
  };
}

/** `fromTemplate`: a new embedded data dir starts from the build's migrated template (serve, worker). */
export async function openDatabase(config: Config, options: { fromTemplate?: boolean } = {}): Promise<DbHandle> {
  return openConfiguredDatabase(config, options);
}

/** `hostplane db migrate`: applies pending migrations and reports them. */
export async function runMigrations(config: Config): Promise<string[]> {
  const handle = await openDatabase(config);
  try {
    return await migrateDatabase(handle);
  } finally {
    await handle.close();
  }
}

export interface BackupResult {
  format: BackupFormat;
  file: string;
  bytes: number;
}

/**
 * `hostplane db backup`: pg_dump of the PostgreSQL database, or a copy of the embedded data dir when no
 * server holds it (a running server's lock fails this with DataDirInUseError: the CLI then asks that
 * server, through the admin API, and saves its copy with saveBackup).
 */
export async function backupDatabase(config: Config, file: string): Promise<BackupResult> {
  if (config.databaseUrl) await backupPostgres(config.databaseUrl, file);
  else await backupEmbeddedDataDir(embeddedDataDir(config.dataDir), file);
  return { format: config.databaseUrl ? 'pg_dump' : 'pglite', file, bytes: fs.statSync(file).size };
}

/** Writes a backup received from a running server: owner-only, whole or not at all. */
export function saveBackup(file: string, data: Uint8Array): BackupResult {
  writeBackupFile(file, data);
  return { format: backupFormatOf(file), file, bytes: data.length };
}

export interface RestoreResult {
  format: BackupFormat;
  /** Migrations applied on top of the backup (one taken by an older version). */
  migrated: string[];
  rebuild: RestoreRebuild;
  /** The master key the restored secrets are sealed under, when this configuration does not have it. */
  missing_master_key?: string;
}

/**
 * `hostplane db restore`: into an empty PostgreSQL database, or a new embedded data dir (either one
 * holding data only with `force`), then the restored database is migrated and the data plane made to
 * follow it (rebuildAfterRestore). No server may run on the target meanwhile: the embedded data dir's
 * lock enforces it; on PostgreSQL the operator stops the servers first.
 */
export async function restoreDatabase(config: Config, file: string, options: { force: boolean }): Promise<RestoreResult> {
  let migrated: string[] = [];
  let rebuild: RestoreRebuild | undefined;
  let recordedKey: string | undefined;
  const prepare = async (handle: DbHandle) => {
    ({ migrated, rebuild } = await migrateAndRebuild(config, handle));
    recordedKey = await recordedSecretsKeyId({ db: handle.db });
  };
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    await restorePostgres(url, file, options.force, async () => {
      const probe = await createDb({ databaseUrl: url, poolSize: 1 });
      try {
        return await holdsNoRelations(probe.db);
      } finally {
        await probe.close();
      }
    });
    const handle = await createDb({ databaseUrl: url, poolSize: 2 });
    try {
      await prepare(handle);
    } finally {
      await handle.close();
    }
  } else {
    await restoreEmbedded(embeddedDataDir(config.dataDir), file, options.force, prepare);
  }
  const out: RestoreResult = { format: config.databaseUrl ? 'pg_dump' : 'pglite', migrated, rebuild: rebuild! };
  const keyAvailable = Boolean(config.masterKey) || fs.existsSync(masterKeyFile(config));
  if (recordedKey !== undefined && !keyAvailable) out.missing_master_key = recordedKey;
  return out;
}

async function migrateAndRebuild(config: Config, handle: DbHandle): Promise<{ migrated: string[]; rebuild: RestoreRebuild }> {
  const migrated = await migrateDatabase(handle);
  // The rebuild seals nothing: a throwaway key stands in for the master key, which may not be here yet.
  const deps = coreDeps(config, handle, new Keyring([newMasterKey()], 'restore'), () => new Date(), createLogger(config));
  return { migrated, rebuild: await rebuildAfterRestore(ctxFor(deps, { kind: 'system' })) };
}

/**
 * `hostplane db rebuild-after-restore`: what `db restore` does after restoring, for a database brought
 * back by other means (pgBackRest's point-in-time recovery): migrate, and make the data plane follow it.
 */
export async function rebuildAfterDatabaseRestore(config: Config): Promise<{ migrated: string[]; rebuild: RestoreRebuild }> {
  const handle = await openDatabase(config);
  try {
    return await migrateAndRebuild(config, handle);
  } finally {
    await handle.close();
  }
}

export interface SecretsRotation {
  key_id: string;
  previous_key_id: string | null;
  /** Values sealed again: every webhook signing secret and the server secret. */
  resealed: number;
  /** Key file: where the previous keys were moved. Environment: keys HOSTPLANE_MASTER_KEY no longer needs. */
  retired_key_file?: string;
  unused_key_ids?: string[];
}

/**
 * `hostplane secrets rotate`: works on the database directly, like `db migrate`, because it needs the
 * master keys, which exist only where the server runs and never travel over the admin API. With a key
 * file it adds a fresh key; with HOSTPLANE_MASTER_KEY it moves to the first key listed there.
 */
export async function rotateSecrets(config: Config): Promise<SecretsRotation> {
  const handle = await openDatabase(config);
  try {
    await migrateDatabase(handle);
    const recorded = await recordedSecretsKeyId({ db: handle.db });
    const rotation = config.masterKey ? undefined : beginKeyFileRotation(config);
    const keyring = rotation?.keyring ?? loadKeyring(config, recorded);
    const keyId = rotation?.keyId ?? keyring.primaryId;
    const deps = coreDeps(config, handle, keyring, () => new Date(), createLogger(config));
    let result;
    try {
      result = await resealSecrets(ctxFor(deps, { kind: 'system' }), keyId);
    } catch (e) {
      rotation?.rollback();
      throw e;
    }
    const out: SecretsRotation = { key_id: result.keyId, previous_key_id: result.previousKeyId ?? null, resealed: result.resealed };
    if (rotation) out.retired_key_file = rotation.commit(new Date()).retiredFile;
    else out.unused_key_ids = keyring.ids.filter((id) => id !== result.keyId);
    return out;
  } finally {
    await handle.close();
  }
}

function writeSecretFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/**
 * The demo catalog is for trying Hostplane out: it goes into an embedded database nobody has used yet
 * (no resellers), never into a PostgreSQL server unless asked (HOSTPLANE_DEMO=on or `seed --demo`).
 * seedDemo itself does nothing when the catalog already has packages.
 */
export function shouldSeedDemo(config: Pick<Config, 'demo' | 'databaseUrl'>, noResellers: boolean): boolean {
  if (config.demo === 'off') return false;
  if (config.demo === 'on') return true;
  return !config.databaseUrl && noResellers;
}

/** First start: an operator key for the CLI, and on an empty embedded database the demo catalog. */
async function bootstrapData(app: App, config: Config): Promise<{ operatorKeyFile?: string; demo?: DemoSeedResult }> {
  const ctx = ctxFor(app.deps, { kind: 'system' });
  const out: { operatorKeyFile?: string; demo?: DemoSeedResult } = {};
  if ((await countOperatorKeys(ctx)) === 0) {
    const issued = await createOperatorKey(ctx, 'bootstrap');
    const file = path.join(config.dataDir, 'operator-key');
    writeSecretFile(file, `${issued.key}\n`);
    out.operatorKeyFile = file;
  }
  if (shouldSeedDemo(config, (await listResellers(ctx)).length === 0)) {
    out.demo = await seedDemo(ctx);
    if (out.demo.created && out.demo.credentials) {
      writeSecretFile(
        path.join(config.dataDir, 'demo-reseller.json'),
        JSON.stringify({ id: out.demo.reseller!.id, ...out.demo.credentials, ...(out.demo.portalAdmin ? { portal_admin: out.demo.portalAdmin } : {}) }, null, 2) + '\n',
      );
    }
  }
  return out;
}

/** A start-up that fails (say, no master key) lets go of the database so the process exits with its message. */
async function createAppOrClose(config: Config, logger: Logger, dbHandle: DbHandle): Promise<App> {
  try {
    return await createApp(config, { logger, dbHandle });
  } catch (e) {
    await dbHandle.close();
    throw e;
  }
}

/** `hostplane worker`: runs jobs without serving HTTP, so API and workers scale apart. */
export async function startWorker(config: Config): Promise<App> {
  const logger = createLogger(config);
  const dbHandle = await openDatabase(config, { fromTemplate: true });
  const app = await createAppOrClose(config, logger, dbHandle);
  if (dbHandle.kind === 'pglite') await app.jobs.recoverAbandoned();
  app.jobs.start();
  logger.info({ worker: app.jobs.workerId, database: dbHandle.kind }, 'hostplane worker running');
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'worker shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    await app.close();
    await dbHandle.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return app;
}

/**
 * The in-process agent of a one-machine install, against this server's own address (the loopback one
 * unless it serves HTTPS, whose certificate names the public one). A failure to start it is logged:
 * the control plane serves on, and the node shows as unhealthy.
 */
async function startLocalAgentOrLog(app: App, config: Config): Promise<{ stop(): Promise<void> } | undefined> {
  const { startLocalAgent } = await import('./local-agent.js');
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = config.tls ? config.publicUrl : `http://${config.host.includes(':') ? '[::1]' : config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  try {
    return await startLocalAgent(app.deps, config, url, app.logger);
  } catch (err) {
    app.logger.error({ err: (err as Error).message }, 'the local agent could not start; sites are not applied on this machine until it does');
    return undefined;
  }
}

/** `hostplane serve` / `npm start`: runs until SIGTERM or SIGINT, then drains and exits. */
export async function startServer(config: Config): Promise<App> {
  const started = Date.now();
  const logger = createLogger(config);
  const dbHandle = await openDatabase(config, { fromTemplate: true });
  const app = await createAppOrClose(config, logger, dbHandle);
  const boot = await bootstrapData(app, config);
  await app.server.listen({ port: config.port, host: config.host });
  if (config.worker) {
    // The embedded database is locked to this process, so whatever a previous one held is abandoned.
    if (dbHandle.kind === 'pglite') await app.jobs.recoverAbandoned();
    app.jobs.start();
  }
  logger.info({ url: config.publicUrl, database: dbHandle.kind, ms: Date.now() - started }, 'hostplane listening');
  const localAgent = config.localAgent.enabled ? await startLocalAgentOrLog(app, config) : undefined;

  const lines: string[] = [];
  if (boot.operatorKeyFile) lines.push(`Operator API key written to ${boot.operatorKeyFile} (mode 0600); the hostplane CLI reads it from there.`);
  if (boot.demo?.created && boot.demo.credentials) {
    lines.push(
      'Demo catalog loaded (packages tagged "cpanel") with an approved demo reseller:',
      `  API token: ${boot.demo.credentials.api_token}`,
      `  API key:   ${boot.demo.credentials.api_key}`,
      `  try: curl -u '${boot.demo.credentials.api_token}:${boot.demo.credentials.api_key}' ${config.publicUrl}/v1/packages/by_tag/cpanel`,
      `  (also saved in ${path.join(config.dataDir, 'demo-reseller.json')})`,
    );
    if (boot.demo.portalAdmin) {
      lines.push(`Operator user for the web console (${config.publicUrl}/console) and the SaaS portal (XML-RPC at ${config.publicUrl}/xmlrpc/2, db "${config.rpcDb}"): login ${boot.demo.portalAdmin.login}, password ${boot.demo.portalAdmin.password} (saved there too)`);
    }
  }
  lines.push(`API reference: ${config.publicUrl}/docs`);
  process.stderr.write(lines.map((l) => `hostplane: ${l}`).join('\n') + '\n');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    try {
      await localAgent?.stop();
      await app.close();
      await dbHandle.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return app;
}
