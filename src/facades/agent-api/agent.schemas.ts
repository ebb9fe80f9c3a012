import { z } from 'zod';
import { AgentErrorBody, EnrolResponse, HeartbeatRequest, HeartbeatResponse, StateResponse, StatusRequest } from '../../core/nodes/agent-wire.schema.js';

// The wire contract's schemas with the examples /openapi.json shows; the contract itself stays free
// of documentation-only data.

const settings = { heartbeatIntervalSeconds: 10, usageIntervalSeconds: 60, archiveRetentionDays: 30 };
const node = { id: 3, name: 'web1', roles: ['web' as const] };

export const agentErrorDoc = AgentErrorBody.meta({ examples: [{ error: { code: 'unauthenticated', message: 'the node token is not valid (revoked, replaced or unknown)' } }] });

export const enrolResponseDoc = EnrolResponse.meta({ examples: [{ node, token: 'hpn_Qm9vdHN0cmFwIHRva2VuIGV4YW1wbGUgb25seSEhISE' }] });

export const stateQueryDoc = z.object({
  since: z.string().regex(/^[0-9]+$/).optional().describe('the version of the previous answer; absent: every object (full state)'),
  wait: z.string().regex(/^[0-9]+$/).optional().describe('with since: seconds (at most 60) to wait for a change before answering'),
});

export const stateResponseDoc = StateResponse.meta({
  examples: [
    {
      node,
      version: 42,
      full: false,
      objects: [
        { kind: 'site', id: 'site12', version: 41, state: 'present', spec: { siteId: 12, name: 'site12', domain: 'example.com', aliases: ['www.example.com'], status: 'suspended', suspendReason: 'unpaid invoice', php: true } },
        { kind: 'site', id: 'site9', version: 42, state: 'absent', spec: null },
      ],
      settings,
    },
  ],
});

export const statusRequestDoc = StatusRequest.meta({
  examples: [
    {
      results: [
        { kind: 'site', id: 'site12', version: 41, ok: true },
        { kind: 'site', id: 'site13', version: 41, ok: false, error: 'nginx -t refused the server block: invalid server name' },
      ],
    },
  ],
});
export const statusResponseDoc = z
  .object({ accepted: z.number().int().describe('reports that matched an object of this node'), forgotten: z.number().int().describe('removed objects the server now forgets') })
  .meta({ examples: [{ accepted: 2, forgotten: 0 }] });

export const heartbeatRequestDoc = HeartbeatRequest.meta({
  examples: [{ agentVersion: '0.1.0', capacity: { diskFreeBytes: 52_000_000_000, diskTotalBytes: 100_000_000_000, load1: 0.4, cpus: 2, memFreeBytes: 1_200_000_000 }, drivers: { web: { ok: true } } }],
});
export const heartbeatResponseDoc = HeartbeatResponse.meta({ examples: [{ serverTime: '2026-03-01T09:00:00.000Z', settings }] });
