import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from './config/config.js';
import { ctxFor, type CoreDeps, type CoreSettings } from './core/context.js';
import { CREDENTIALS_NOTIFY_CHANNEL, CredentialCache } from './core/credentials/credential.cache.js';
import { NODES_NOTIFY_CHANNEL } from './core/nodes/node-objects.repository.js';
import { NodeWaiter } from './core/nodes/node-waiter.js';
import { agentApiRoutes } from './facades/agent-api/agent-api.routes.js';
import { sendAgentError } from './facades/agent-api/agent.errors.js';
import { openServerSecret, recordedSecretsKeyId } from './core/secrets/secret.service.js';
import { Keyring, newMasterKey } from './core/shared/keyring.js';
import { dumpEmbedded } from './db/backup.js';
import { loadKeyring } from './config/master-key.js';
import { migrateDatabase, openConfiguredDatabase, pingDb, type DbHandle } from './db/database.js';
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
import { filesAgentRoutes } from './facades/agent-api/files.agent.routes.js';
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
  /** Stops serving, then the jobs, then the listeners; `onStep` hears each step as it begins (a stop that hangs can say where). */
  close(onStep?: (step: string) => void): Promise<void>;
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
    close: async (onStep) => {
      // Long-polling agents are answered now rather than holding the close for up to a minute.
      nodeWaiter.close();
      onStep?.('the HTTP server');
      await server.close();
      onStep?.('the job runner');
      await jobs.stop();
      onStep?.('the database notifications');
      await stopCredentialNotices();
      await stopNodeNotices();
      if (!options.dbHandle) {
        onStep?.('the database');
        await dbHandle.close();
      }
    },
  };
}

export function coreDeps(config: Config, dbHandle: DbHandle, keyring: Keyring, clock: () => Date, log: Logger, webhookResolveHost?: CoreSettings['webhookResolveHost']): CoreDeps {
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
  await server.register(async (scope) => agentApiRoutes(scope, deps, [usageAgentRoutes, filesAgentRoutes]));
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
