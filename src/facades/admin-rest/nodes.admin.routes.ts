import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Ctx } from '../../core/context.js';
import type { Node, NodeObjectPage } from '../../core/nodes/node.schema.js';
import { createNode, deleteNode, drainNode, listNodeObjects, listNodes, revokeNodeToken, rotateNodeToken, showNode, undrainNode } from '../../core/nodes/node.service.js';
import { AppError } from '../../errors/app-error.js';
import { pathId, queryLimit, queryValue } from '../../http/query.js';
import * as s from './admin.schemas.js';
import * as n from './nodes.admin.schemas.js';

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const tags = ['Operator admin API'];
const errors = { 401: s.adminError, 403: s.adminError, 404: s.adminError, 409: s.adminError, 422: s.adminError };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toAdminNode(x: Node) {
  return {
    id: x.id,
    name: x.name,
    roles: x.roles,
    labels: x.labels,
    state: x.state,
    status: x.status,
    enrolled: x.enrolled,
    enrol_pending: x.enrol_pending,
    enrol_token_expires_at: iso(x.enrol_token_expires_at),
    version: x.version,
    agent_version: x.agent_version,
    capacity: x.capacity,
    drivers: x.drivers,
    last_heartbeat_at: iso(x.last_heartbeat_at),
    last_usage_at: iso(x.last_usage_at),
    enrolled_at: iso(x.enrolled_at),
    created_at: x.created_at.toISOString(),
    counts: x.counts,
  };
}

const toObjectPage = (p: NodeObjectPage) => ({ objects: p.objects.map((o) => ({ ...o, reported_at: iso(o.reported_at) })), next_after: p.next_after });

const withToken = ({ node, token }: { node: Node; token: string }) => ({ id: node.id, name: node.name, roles: node.roles, token, node: toAdminNode(node) });

function boolParam(query: unknown, key: string): boolean | undefined {
  const v = queryValue(query, key);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw AppError.validation({ [key]: ['must be true or false'] });
  return v === 'true';
}

/** Hosting nodes: register (one-time enrolment token), list with health and counts, drain, delete, tokens. */
export async function nodeAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  const id = (req: FastifyRequest) => pathId(req.params, 'node');
  const nodeOut = { 200: n.nodeDoc, ...errors };

  app.get('/admin/v1/nodes', { schema: { tags, security, summary: 'Every hosting node with its status (healthy, unhealthy, draining), last heartbeat, version, capacity and object counts', response: { 200: n.nodeListDoc, 401: s.adminError, 403: s.adminError } } }, async (req) =>
    (await listNodes(ctxOf(req))).map(toAdminNode),
  );
  app.post(
    '/admin/v1/nodes',
    { schema: { tags, security, summary: 'Register a hosting node: answers its one-time enrolment token (shown once, valid 24 hours), which `hostplane agent --token` exchanges for the node\'s own', body: n.createNodeBodyDoc, response: { 201: n.nodeWithTokenDoc, ...errors } } },
    async (req, reply) => reply.code(201).send(withToken(await createNode(ctxOf(req), req.body ?? {}))),
  );
  app.get('/admin/v1/nodes/:id', { schema: { tags, security, summary: 'A hosting node', params: s.idParams, response: nodeOut } }, async (req) => toAdminNode(await showNode(ctxOf(req), id(req))));
  app.delete(
    '/admin/v1/nodes/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a hosting node and its desired objects; refused (409) while live sites are placed on it unless force=true, which leaves them not placed',
        params: s.idParams,
        querystring: n.deleteNodeQueryDoc,
        response: { 200: n.deletedNodeDoc, ...errors },
      },
    },
    async (req) => {
      const force = boolParam(req.query, 'force');
      return deleteNode(ctxOf(req), id(req), { force: force === true });
    },
  );
  app.post('/admin/v1/nodes/:id/drain', { schema: { tags, security, summary: 'Drain a node: no new sites are placed on it; what it holds stays served', params: s.idParams, 'x-no-request-body': true, response: nodeOut } }, async (req) =>
    toAdminNode(await drainNode(ctxOf(req), id(req))),
  );
  app.post('/admin/v1/nodes/:id/undrain', { schema: { tags, security, summary: 'Undo a drain: the node takes new sites again', params: s.idParams, 'x-no-request-body': true, response: nodeOut } }, async (req) =>
    toAdminNode(await undrainNode(ctxOf(req), id(req))),
  );
  app.post(
    '/admin/v1/nodes/:id/rotate-token',
    { schema: { tags, security, summary: "Issue a new one-time enrolment token (shown once); the node's current token works until the new one is exchanged", params: s.idParams, 'x-no-request-body': true, response: { 200: n.nodeWithTokenDoc, ...errors } } },
    async (req) => withToken(await rotateNodeToken(ctxOf(req), id(req))),
  );
  app.post(
    '/admin/v1/nodes/:id/revoke-token',
    { schema: { tags, security, summary: "End the node's token and any unused enrolment token at once: its agent gets 401 and keeps serving what it applied", params: s.idParams, 'x-no-request-body': true, response: nodeOut } },
    async (req) => toAdminNode(await revokeNodeToken(ctxOf(req), id(req))),
  );
  app.get(
    '/admin/v1/nodes/:id/objects',
    { schema: { tags, security, summary: "A node's desired objects and what it reported of each, in id order; page with `after` (the next_after of the previous page); failed=true keeps failed ones; behind=true keeps those not applied at their current version (a relay node's: the domains it is behind on)", params: s.idParams, querystring: n.nodeObjectsQueryDoc, response: { 200: n.nodeObjectPageDoc, ...errors } } },
    async (req) => {
      const failed = boolParam(req.query, 'failed');
      const behind = boolParam(req.query, 'behind');
      const after = queryValue(req.query, 'after');
      const limit = queryLimit(queryValue(req.query, 'limit'), { max: 1000, fallback: 100 });
      return toObjectPage(await listNodeObjects(ctxOf(req), id(req), { limit, ...(failed !== undefined ? { failed } : {}), ...(behind !== undefined ? { behind } : {}), ...(after !== undefined ? { after } : {}) }));
    },
  );
}
