import { z } from 'zod';
import { NodeRole, type ObjectKind } from './agent-wire.schema.js';

/** The same rule as the nodes table's check constraint: a DNS-label-like name. */
export const NODE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
// Labels end up in placement rules and on screens, never in config: still, only plain tokens.
const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$|^$/;
export const MAX_LABELS = 32;

export const nodeName = z.string().regex(NODE_NAME, 'must be 1 to 63 lowercase letters, digits or "-", starting with a letter or digit');

export const nodeRoles = z
  .array(z.enum(NodeRole.options, { error: 'must be web, db or relay' }))
  .min(1, 'must name at least one role (web, db, relay)')
  .max(3)
  .transform((roles) => [...new Set(roles)].sort());

export const nodeLabels = z
  .record(
    z.string().regex(LABEL_KEY, 'label keys are 1 to 63 lowercase letters, digits, ".", "_", "-" or "/", starting and ending with a letter or digit'),
    z.string().regex(LABEL_VALUE, 'label values are up to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit'),
  )
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);

export const createNodeInput = z
  .object({
    name: nodeName,
    roles: nodeRoles,
    labels: nodeLabels.default({}),
  })
  .strict();
export type CreateNodeInput = z.input<typeof createNodeInput>;

export const deleteNodeInput = z.object({ force: z.boolean().default(false) }).strict();

/** What an operator sees of a node's health: draining wins over the heartbeat's verdict. */
export type NodeStatus = 'healthy' | 'unhealthy' | 'draining';

export interface NodeCounts {
  /** Objects the node must hold (state present). */
  placed: number;
  /** Objects whose current version the node reported applied. */
  applied: number;
  /** Objects whose last try on the current version failed. */
  failed: number;
  /** Objects (present or being removed) the node has not yet reported on at their current version. */
  pending: number;
  /** Sites placed on the node (clients.node_id). */
  sites: number;
}

export interface Node {
  id: number;
  name: string;
  roles: string[];
  labels: Record<string, string>;
  state: 'active' | 'draining';
  status: NodeStatus;
  enrolled: boolean;
  /** A one-time enrolment token is outstanding (until it is used or expires). */
  enrol_pending: boolean;
  enrol_token_expires_at: Date | null;
  version: number;
  agent_version: string | null;
  capacity: unknown;
  drivers: unknown;
  last_heartbeat_at: Date | null;
  last_usage_at: Date | null;
  enrolled_at: Date | null;
  created_at: Date;
  counts: NodeCounts;
}

/** What an object's status is, from the control plane's view of the node's last report. */
export type NodeObjectStatus = 'applied' | 'applying' | 'failed' | 'removing';

export interface NodeObjectView {
  kind: ObjectKind;
  id: string;
  client_id: number | null;
  state: 'present' | 'absent';
  version: number;
  applied_version: number | null;
  status: NodeObjectStatus;
  error: string | null;
  reported_at: Date | null;
}

export interface NodeObjectPage {
  objects: NodeObjectView[];
  /** Pass as `after` for the next page; null on the last. */
  next_after: string | null;
}

export const NODE_OBJECT_PAGE_MAX = 1000;
export const NODE_OBJECT_PAGE_DEFAULT = 100;

/** The node's own view of itself once its token is verified. */
export interface NodeIdentity {
  id: number;
  name: string;
  roles: NodeRole[];
}

/** Where a site is served, as every door answers it: null when it is not placed on a hosting node. */
export const siteNodeOut = z
  .object({
    name: z.string().describe('the hosting node'),
    status: z.enum(['healthy', 'unhealthy', 'draining']).describe("the node's health: unhealthy when its heartbeats stopped"),
    object: z.enum(['applying', 'applied', 'failed']).describe("whether the node has made the site's latest state true, is still to, or failed to"),
    error: z.string().nullable().describe("why the last apply failed, in the node's words"),
  })
  .nullable();

/** A site's storage and transfer per day and the node serving it: what the consoles' usage charts draw. */
export const siteUsageSeriesOut = z
  .object({
    site: z.string(),
    node: siteNodeOut,
    since: z.string().describe('the first UTC day of the window, YYYY-MM-DD'),
    until: z.string().describe('the last UTC day of the window (today), YYYY-MM-DD'),
    days: z
      .array(z.object({ day: z.string().describe('UTC day, YYYY-MM-DD'), storage_bytes: z.number().int().describe('the last storage sample of the day'), transfer_bytes: z.number().int().describe('bytes sent that day') }))
      .describe('days with a sample only, oldest first'),
  })
  .meta({
    examples: [
      {
        site: 'site12',
        node: { name: 'web1', status: 'healthy', object: 'applied', error: null },
        since: '2026-11-07',
        until: '2026-12-06',
        days: [
          { day: '2026-12-05', storage_bytes: 52428800, transfer_bytes: 1048576 },
          { day: '2026-12-06', storage_bytes: 53477376, transfer_bytes: 2097152 },
        ],
      },
      { site: 'site13', node: null, since: '2026-11-07', until: '2026-12-06', days: [] },
    ],
  });

export const usageDaysQuery = z.object({ days: z.string().optional().describe('how many days back, 1-366 (default 30)') });
