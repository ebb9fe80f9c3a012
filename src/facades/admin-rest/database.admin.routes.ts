import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Ctx } from '../../core/context.js';
import { takeEmbeddedBackup } from '../../core/backups/backup.service.js';
import * as s from './admin.schemas.js';

const security: Record<string, string[]>[] = [{ operatorBearer: [] }, { operatorSession: [] }];
const tags = ['Operator admin API'];

const embeddedBackupOut = z
  .object({
    format: z.literal('pglite').describe('a gzipped tar of the embedded data dir, as `hostplane db restore` reads it'),
    bytes: z.number().int().nonnegative(),
    data: z.string().describe('the archive, base64'),
  })
  .meta({ examples: [{ format: 'pglite', bytes: 3, data: 'H4sI' }] });

/**
 * The embedded database's backup, for `hostplane db backup` while this server holds the data dir.
 * A POST, so a console session needs its CSRF token: a page elsewhere cannot make an operator's
 * browser ask for it. Base64 in JSON keeps the CLI's one way of talking to the admin API; an embedded
 * database is tens of MB.
 */
export async function databaseAdminRoutes(app: FastifyInstance, ctxOf: (req: FastifyRequest) => Ctx): Promise<void> {
  app.post(
    '/admin/v1/database/backup',
    {
      schema: {
        tags,
        security,
        summary: 'A consistent copy of the embedded database (409 invalid_state on PostgreSQL: use pg_dump there, as `hostplane db backup` does)',
        'x-no-request-body': true,
        response: { 200: embeddedBackupOut, 401: s.adminErrorDoc, 403: s.adminErrorDoc, 409: s.adminErrorDoc },
      },
    },
    async (req) => {
      const dump = await takeEmbeddedBackup(ctxOf(req));
      return { format: 'pglite' as const, bytes: dump.length, data: dump.toString('base64') };
    },
  );
}
