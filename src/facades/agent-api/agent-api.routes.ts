import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ctxFor, type CoreDeps, type Ctx } from '../../core/context.js';
import { AGENT_API_PREFIX } from '../../core/nodes/agent-wire.schema.js';
import { authenticateNode, enrolNode, getNodeState, recordHeartbeat, recordStatus } from '../../core/nodes/node-agent.service.js';
import { AppError } from '../../errors/app-error.js';
import { toAppError } from '../../http/errors.js';
import { sendAgentError } from './agent.errors.js';
import * as s from './agent.schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    nodeCtx?: Ctx;
  }
}

/** Routes another file adds to /agent/v1 (the usage reports): they get the authenticated node's ctx. */
export type AgentRoutes = (app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx) => Promise<void>;

export const agentSecurity: Record<string, string[]>[] = [{ nodeBearer: [] }];
export const agentTags = ['Agent API (hosting nodes)'];
export const agentErrors = { 400: s.agentErrorDoc, 401: s.agentErrorDoc, 413: s.agentErrorDoc, 429: s.agentErrorDoc };

/** Long-polls one node may hold at once: an agent needs one; a few more cover restarts and retries. */
const MAX_WAITS_PER_NODE = 4;

const bearer = (req: FastifyRequest) => /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];

function ctxOf(req: FastifyRequest): Ctx {
  if (!req.nodeCtx) throw new AppError('unauthenticated', 'a node token is required (Authorization: Bearer <token>)');
  return req.nodeCtx;
}

/**
 * `/agent/v1`, the door hosting nodes pull their desired state through (the wire contract in
 * core/nodes/agent-wire.schema.ts). Every route but enrol takes the node's own token, and every use
 * case reads the node from it: nothing in a request names a node.
 */
export async function agentApiRoutes(app: FastifyInstance, deps: CoreDeps, more: AgentRoutes[] = []): Promise<void> {
  app.setErrorHandler((err, req, reply) => {
    const appError = toAppError(err);
    if (appError.code === 'internal') req.log.error({ err }, 'request failed');
    return sendAgentError(reply, appError);
  });

  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.url === `${AGENT_API_PREFIX}/enrol`) return;
    const node = await authenticateNode(ctxFor(deps, { kind: 'system' }, req.log), bearer(req));
    req.nodeCtx = ctxFor(deps, { kind: 'node', nodeId: node.id }, req.log, req);
  });

  app.post(
    `${AGENT_API_PREFIX}/enrol`,
    {
      bodyLimit: 4096,
      schema: {
        tags: agentTags,
        security: [{ nodeEnrolBearer: [] }],
        summary: "Exchange the one-time enrolment token (Authorization: Bearer <enrolment token>) for the node's own token, returned once; the token stops working after this",
        'x-no-request-body': true,
        response: { 200: s.enrolResponseDoc, ...agentErrors },
      },
    },
    async (req) => enrolNode(ctxFor(deps, { kind: 'system' }, req.log, req), bearer(req)),
  );

  const waits = new Map<number, number>();
  app.get(
    `${AGENT_API_PREFIX}/state`,
    {
      schema: {
        tags: agentTags,
        security: agentSecurity,
        summary: "The node's desired objects: all of them without `since`; with it, those changed after that version, waiting up to `wait` seconds (at most 60) for one. Answer `version` is the next `since`",
        querystring: s.stateQueryDoc,
        response: { 200: s.stateResponseDoc, ...agentErrors },
      },
    },
    async (req, reply) => {
      const ctx = ctxOf(req);
      const q = req.query as Record<string, unknown>;
      const nodeId = (ctx.actor as { nodeId: number }).nodeId;
      const waiting = q.wait !== undefined && q.wait !== '0' && q.since !== undefined;
      if (!waiting) return getNodeState(ctx, q);
      const held = waits.get(nodeId) ?? 0;
      if (held >= MAX_WAITS_PER_NODE) throw new AppError('rate_limited', `this node already holds ${held} waiting state requests`, { retryAfterSeconds: 5 });
      waits.set(nodeId, held + 1);
      try {
        const state = await getNodeState(ctx, q);
        // Answered because the server is closing: the agent's kept-alive connection must not hold the close.
        if (deps.nodeWaiter?.isClosed) reply.header('connection', 'close');
        return state;
      } finally {
        const left = (waits.get(nodeId) ?? 1) - 1;
        if (left > 0) waits.set(nodeId, left);
        else waits.delete(nodeId);
      }
    },
  );

  app.post(
    `${AGENT_API_PREFIX}/status`,
    {
      // 20,000 results with their error messages fit; more is refused (413) before it is read.
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags: agentTags,
        security: agentSecurity,
        summary: 'Report per object the version the node applied, or why it failed; objects being removed are forgotten once applied; reports about objects the node does not hold are ignored',
        body: s.statusRequestDoc,
        response: { 200: s.statusResponseDoc, ...agentErrors },
      },
    },
    async (req) => recordStatus(ctxOf(req), req.body),
  );

  app.post(
    `${AGENT_API_PREFIX}/heartbeat`,
    {
      bodyLimit: 64 * 1024,
      schema: {
        tags: agentTags,
        security: agentSecurity,
        summary: "The node is alive: its capacity, agent version and drivers' health; answers the settings agents follow",
        body: s.heartbeatRequestDoc,
        response: { 200: s.heartbeatResponseDoc, ...agentErrors },
      },
    },
    async (req) => recordHeartbeat(ctxOf(req), req.body),
  );

  for (const add of more) await add(app, ctxOf);
}
