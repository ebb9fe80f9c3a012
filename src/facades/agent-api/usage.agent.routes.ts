import { z } from 'zod';
import { AGENT_API_PREFIX, UsageRequest } from '../../core/nodes/agent-wire.schema.js';
import { nodeIdOf } from '../../core/nodes/node-agent.service.js';
import { recordUsage } from '../../core/nodes/record-usage.js';
import { agentErrors, agentSecurity, agentTags, type AgentRoutes } from './agent-api.routes.js';

// `POST /agent/v1/usage`: a node's usage samples of its own sites (core/nodes/record-usage.ts).

const usageOut = z
  .object({
    accepted: z.number().int().describe('samples counted'),
    ignored: z.number().int().describe("samples of objects this node does not hold, or older than what was counted: left out"),
    usersWanted: z.array(z.string()).optional().describe('databases whose whole user list the control plane holds under another digest: send it as userLists pages'),
  })
  .meta({ examples: [{ accepted: 2, ignored: 0 }] });

/** Samples of up to 20,000 sites at once: about 2.4 MB of JSON. */
const USAGE_BODY_LIMIT = 4 * 1024 * 1024;

/** Added to the agent door (`agentApiRoutes`' extra routes), so it shares its node authentication and error format. */
export const usageAgentRoutes: AgentRoutes = async (app, ctxOf) => {
  app.post(
    `${AGENT_API_PREFIX}/usage`,
    {
      bodyLimit: USAGE_BODY_LIMIT,
      schema: {
        tags: agentTags,
        security: agentSecurity,
        summary: "Usage samples of the node's sites (storage and the transfer counter) and SaaS databases (size, active users, the digest of their users), and pages of user lists the control plane asked for",
        body: UsageRequest.meta({ examples: [{ samples: [{ kind: 'site', id: 'site12', at: '2026-12-06T20:00:00.000Z', storageBytes: 52428800, transferBytes: 1048576 }, { kind: 'database', id: 'db15', at: '2026-12-06T20:00:00.000Z', storageBytes: 9437184, transferBytes: 0, activeUsers: 3 }] }] }),
        response: { 200: usageOut, ...agentErrors },
      },
    },
    async (req) => {
      const ctx = ctxOf(req);
      return recordUsage(ctx, nodeIdOf(ctx), req.body);
    },
  );
};
