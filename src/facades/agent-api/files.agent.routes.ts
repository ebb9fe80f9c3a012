import { z } from 'zod';
import { AGENT_API_PREFIX } from '../../core/nodes/agent-wire.schema.js';
import { readStagedFile } from '../../core/nodes/database-files.js';
import { nodeIdOf } from '../../core/nodes/node-agent.service.js';
import { agentErrorDoc } from './agent.schemas.js';
import { agentErrors, agentSecurity, agentTags, type AgentRoutes } from './agent-api.routes.js';

// `GET /agent/v1/files/{id}`: the content of a file staged for an instance database's ir_attachment
// (core/nodes/database-files.ts), for the node holding that database only.

const fileParams = z.object({ id: z.string().regex(/^[0-9]+$/).describe("the file's id, as the database object's spec lists it").meta({ examples: ['42'] }) });

const fileContent = z.string().meta({ format: 'binary', examples: ['%PDF-1.7 ...'] }).describe('the raw bytes; the node checks them against the spec\'s size and sha256');

const jsonErrors = Object.fromEntries(Object.entries({ ...agentErrors, 404: agentErrorDoc }).map(([status, schema]) => [status, { description: 'an error', content: { 'application/json': { schema } } }]));

/** Added to the agent door, so it shares its node authentication and error format. */
export const filesAgentRoutes: AgentRoutes = async (app, ctxOf) => {
  app.get(
    `${AGENT_API_PREFIX}/files/:id`,
    {
      schema: {
        tags: agentTags,
        security: agentSecurity,
        summary: "The content of a file staged for one of this node's instance databases, to insert into its ir_attachment; any other file (another node's, already moved, unknown) is not found",
        params: fileParams,
        // The bytes are the answer's body; errors stay the door's JSON.
        produces: ['application/octet-stream'],
        response: { 200: fileContent, ...jsonErrors },
      },
    },
    async (req, reply) => {
      const ctx = ctxOf(req);
      const content = await readStagedFile(ctx, nodeIdOf(ctx), (req.params as { id?: unknown }).id);
      return reply.type('application/octet-stream').header('cache-control', 'no-store').send(content);
    },
  );
};
