import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ctxFor, type CoreDeps } from '../../core/context.js';
import { AGENT_API_PREFIX, AgentErrorBody, UsageRequest } from '../../core/nodes/agent-wire.schema.js';
import { nodeOfToken, recordUsage } from '../../core/nodes/record-usage.js';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { httpStatusOf } from '../admin-rest/admin.errors.js';

// `POST /agent/v1/usage`: a node's usage samples of its own sites (core/nodes/record-usage.ts).

/** How a request's node is found; the agent API's own authentication hook fits. */
export type AuthenticateNode = (req: FastifyRequest) => Promise<number>;

const tags = ['Agent API'];
const security: Record<string, string[]>[] = [{ nodeBearer: [] }];
const errorBody = AgentErrorBody.meta({ examples: [{ error: { code: 'unauthenticated', message: 'a node token is required' } }] });

const usageOut = z
  .object({
    accepted: z.number().int().describe('samples counted'),
    ignored: z.number().int().describe("samples of objects this node does not hold, or older than what was counted: left out"),
  })
  .meta({ examples: [{ accepted: 2, ignored: 0 }] });

/** Samples of up to 20,000 sites at once: about 2.4 MB of JSON. */
const USAGE_BODY_LIMIT = 4 * 1024 * 1024;

/** Bearer node token → the node id, by the token's digest. */
export function bearerNode(deps: CoreDeps): AuthenticateNode {
  return async (req) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const node = m ? await nodeOfToken(ctxFor(deps, { kind: 'system' }, req.log), m[1]!) : null;
    if (node === null) throw new AppError('unauthenticated', 'a valid node token is required');
    return node;
  };
}

export async function usageAgentRoutes(app: FastifyInstance, deps: CoreDeps, authenticate: AuthenticateNode = bearerNode(deps)): Promise<void> {
  app.setErrorHandler((err, req, reply) => {
    const e = toAppError(err);
    if (e.code === 'internal') req.log.error({ err }, 'request failed');
    return reply.code(httpStatusOf(e.code)).send({ error: { code: e.code, message: e.message } });
  });
  app.post(
    `${AGENT_API_PREFIX}/usage`,
    {
      bodyLimit: USAGE_BODY_LIMIT,
      schema: {
        tags,
        security,
        summary: "Usage samples of the node's sites: storage and the transfer counter",
        body: UsageRequest.meta({ examples: [{ samples: [{ kind: 'site', id: 'site12', at: '2026-12-06T20:00:00.000Z', storageBytes: 52428800, transferBytes: 1048576 }] }] }),
        response: { 200: usageOut, 400: errorBody, 401: errorBody, 413: errorBody, 422: errorBody },
      },
    },
    async (req) => {
      const nodeId = await authenticate(req);
      return recordUsage(ctxFor(deps, { kind: 'system' }, req.log, req), nodeId, req.body);
    },
  );
}
