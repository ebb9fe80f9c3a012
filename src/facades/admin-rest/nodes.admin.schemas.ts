import { z } from 'zod';
import { ObjectKind } from '../../core/nodes/agent-wire.schema.js';

// The admin API's hosting nodes, as /openapi.json documents them.

const nodeCounts = z.object({
  placed: z.number().int().describe('objects the node must hold'),
  applied: z.number().int().describe('objects applied at their current version'),
  failed: z.number().int().describe("objects whose last try at their current version failed"),
  pending: z.number().int().describe('objects not yet reported at their current version (being applied or removed)'),
  sites: z.number().int().describe('live sites placed on the node'),
});

export const adminNode = z.object({
  id: z.number().int(),
  name: z.string(),
  roles: z.array(z.enum(['web', 'db', 'relay'])),
  labels: z.record(z.string(), z.string()),
  state: z.enum(['active', 'draining']).describe('what the operator decided'),
  status: z.enum(['healthy', 'unhealthy', 'draining']).describe('draining, else healthy when a heartbeat came recently enough'),
  enrolled: z.boolean().describe('the node holds a working token'),
  enrol_pending: z.boolean().describe('a one-time enrolment token is outstanding'),
  enrol_token_expires_at: z.string().nullable(),
  version: z.number().int().describe("the node's desired-state version"),
  agent_version: z.string().nullable(),
  capacity: z.unknown().describe('as the last heartbeat reported it (disk, load, CPUs, memory); null before any'),
  drivers: z.unknown().describe("each role driver's health as last reported"),
  last_heartbeat_at: z.string().nullable(),
  last_usage_at: z.string().nullable(),
  enrolled_at: z.string().nullable(),
  created_at: z.string(),
  counts: nodeCounts,
});

export const nodeExample = {
  id: 3,
  name: 'web1',
  roles: ['web' as const],
  labels: { zone: 'eu1' },
  state: 'active' as const,
  status: 'healthy' as const,
  enrolled: true,
  enrol_pending: false,
  enrol_token_expires_at: null,
  version: 42,
  agent_version: '0.1.0',
  capacity: { diskFreeBytes: 52_000_000_000, diskTotalBytes: 100_000_000_000, load1: 0.4, cpus: 2 },
  drivers: { web: { ok: true } },
  last_heartbeat_at: '2026-03-01T09:00:05.000Z',
  last_usage_at: '2026-03-01T08:59:40.000Z',
  enrolled_at: '2026-03-01T08:00:00.000Z',
  created_at: '2026-03-01T07:55:00.000Z',
  counts: { placed: 120, applied: 118, failed: 1, pending: 1, sites: 120 },
};
const newNodeExample = {
  ...nodeExample,
  id: 4,
  name: 'web2',
  labels: {},
  status: 'unhealthy' as const,
  enrolled: false,
  enrol_pending: true,
  enrol_token_expires_at: '2026-03-02T09:00:00.000Z',
  version: 0,
  agent_version: null,
  capacity: null,
  drivers: null,
  last_heartbeat_at: null,
  last_usage_at: null,
  enrolled_at: null,
  created_at: '2026-03-01T09:00:00.000Z',
  counts: { placed: 0, applied: 0, failed: 0, pending: 0, sites: 0 },
};
const enrolTokenExample = 'hpe_ZW5yb2xtZW50IHRva2VuIGV4YW1wbGUgb25seSEhISEh';

export const nodeDoc = adminNode.meta({ examples: [nodeExample] });
export const nodeListDoc = z.array(adminNode).meta({ examples: [[nodeExample, newNodeExample]] });

export const createNodeBodyDoc = z
  .object({
    name: z.string().describe('1 to 63 lowercase letters, digits or "-"'),
    roles: z.array(z.enum(['web', 'db', 'relay'])).describe('at least one'),
    labels: z.record(z.string(), z.string()).optional().describe('plain key=value tokens a plan can select nodes by'),
  })
  .meta({ examples: [{ name: 'web2', roles: ['web'], labels: { zone: 'eu1' } }] });

export const nodeWithTokenDoc = z
  .object({ id: z.number().int(), name: z.string(), roles: z.array(z.enum(['web', 'db', 'relay'])), token: z.string().describe('the one-time enrolment token, shown only now (24 hours to use it)'), node: adminNode })
  .meta({ examples: [{ id: 4, name: 'web2', roles: ['web'], token: enrolTokenExample, node: newNodeExample }] });

export const deleteNodeQueryDoc = z.object({ force: z.enum(['true', 'false']).optional().describe('true: delete even with sites placed on it (they become not placed)') });
export const deletedNodeDoc = z
  .object({ id: z.number().int(), name: z.string(), unplaced_sites: z.number().int() })
  .meta({ examples: [{ id: 4, name: 'web2', unplaced_sites: 0 }] });

export const nodeObjectsQueryDoc = z.object({
  failed: z.enum(['true', 'false']).optional().describe('true: only objects whose last try failed'),
  behind: z.enum(['true', 'false']).optional().describe('true: only objects the node has not applied at their current version (failed ones included)'),
  after: z.string().optional().describe('the next_after of the previous page'),
  limit: z.string().regex(/^[0-9]+$/).optional().describe('1 to 1000, default 100'),
});
export const nodeObjectPageDoc = z
  .object({
    objects: z.array(
      z.object({
        kind: ObjectKind,
        id: z.string(),
        client_id: z.number().int().nullable(),
        state: z.enum(['present', 'absent']),
        version: z.number().int(),
        applied_version: z.number().int().nullable(),
        status: z.enum(['applied', 'applying', 'failed', 'removing']),
        error: z.string().nullable(),
        reported_at: z.string().nullable(),
      }),
    ),
    next_after: z.string().nullable(),
  })
  .meta({
    examples: [
      {
        objects: [
          { kind: 'site', id: 'site12', client_id: 12, state: 'present', version: 41, applied_version: 41, status: 'applied', error: null, reported_at: '2026-03-01T09:00:01.000Z' },
          { kind: 'site', id: 'site13', client_id: 13, state: 'present', version: 42, applied_version: 40, status: 'failed', error: 'nginx -t refused the server block', reported_at: '2026-03-01T09:00:02.000Z' },
        ],
        next_after: null,
      },
    ],
  });
