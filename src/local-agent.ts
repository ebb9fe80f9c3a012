import path from 'node:path';
import type { Logger } from 'pino';
import { Agent } from './agent/agent.js';
import { loadCredentials, normaliseUrl } from './agent/credentials.js';
import { createDrivers } from './agent/drivers/create-drivers.js';
import type { Config } from './config/config.js';
import { ctxFor, type CoreDeps } from './core/context.js';
import { createNode, listNodes, rotateNodeToken } from './core/nodes/node.service.js';
import { VERSION } from './version.js';

/** The node a one-machine install serves its sites from. */
export const LOCAL_NODE_NAME = 'local';

/**
 * Beside the server's data dir, not in it: the sites' homes must be reachable by nginx's workers and
 * the sites' users, while the server's data dir (database, keys) stays private (0700). With the
 * default ./data that is ./data-agent; with /var/lib/hostplane, /var/lib/hostplane-agent, the same
 * place a node's own agent uses.
 */
export function localAgentDataDir(config: Pick<Config, 'dataDir'>): string {
  return `${config.dataDir.replace(/\/+$/, '')}-agent`;
}

/**
 * `hostplane serve --with-agent` (HOSTPLANE_WITH_AGENT=1): a one-machine install runs the agent in the
 * server's own process. It is an ordinary node, "local" with the web role, enrolled over the server's
 * own /agent/v1 door like any other, so placement, status and health work the same as with remote
 * nodes. The node is created once; an enrolment token is issued again only when the agent's saved
 * credentials are missing or belong to another node or address. A web role that cannot start (nginx
 * missing) makes the node report itself unhealthy; the server serves on regardless.
 */
export async function startLocalAgent(deps: CoreDeps, config: Config, url: string, log: Logger): Promise<Agent> {
  const dataDir = localAgentDataDir(config);
  const ctx = ctxFor(deps, { kind: 'system' });
  const existing = (await listNodes(ctx)).find((n) => n.name === LOCAL_NODE_NAME);
  const saved = await loadCredentials(dataDir).catch(() => undefined);
  let token: string | undefined;
  if (!existing) {
    token = (await createNode(ctx, { name: LOCAL_NODE_NAME, roles: ['web'] })).token;
    log.info({ node: LOCAL_NODE_NAME }, 'created the local node for the in-process agent');
  } else if (!saved || saved.nodeId !== existing.id || saved.url !== normaliseUrl(url)) {
    token = (await rotateNodeToken(ctx, existing.id)).token;
  }
  const agentLog = log.child({ component: 'agent' });
  const agent = new Agent({
    url,
    ...(token ? { token } : {}),
    dataDir,
    agentVersion: VERSION,
    log: agentLog,
    drivers: (node) =>
      createDrivers(node.roles, {
        dataDir,
        nginxPrefix: config.localAgent.nginxPrefix ?? path.join(dataDir, 'nginx'),
        httpPort: config.localAgent.httpPort,
        webDriver: config.localAgent.webDriver,
        ...(config.localAgent.nginxBin ? { nginxBin: config.localAgent.nginxBin } : {}),
        ...(config.localAgent.phpFpmBin ? { phpFpmBin: config.localAgent.phpFpmBin } : {}),
        log: agentLog,
      }),
  });
  await agent.start();
  return agent;
}
