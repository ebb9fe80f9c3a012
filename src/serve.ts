import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config/config.js';
import { ctxFor } from './core/context.js';
import { countOperatorKeys, createOperatorKey } from './core/credentials/credential.service.js';
import { seedDemo, type DemoSeedResult } from './core/demo/seed-demo.js';
import { listResellers } from './core/resellers/reseller.service.js';
import type { DbHandle } from './db/database.js';
import { createApp, createLogger, openDatabase, type App } from './app.js';

/* The long-running processes: `hostplane serve` (`npm start`) and `hostplane worker`. */

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
    // Longer than the local agent's own bounded stops (nginx and php-fpm get 10 s each to quit
    // gracefully); a step that hangs beyond it is named before the process gives up on it.
    let stage = 'the local agent';
    const force = setTimeout(() => {
      logger.error({ stage }, 'shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await localAgent?.stop();
      await app.close((step) => (stage = step));
      stage = 'the database';
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
