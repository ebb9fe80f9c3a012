import type { Command } from 'commander';
import type { z } from 'zod';
import type * as s from '../../admin-rest/admin.schemas.js';
import { idArgument, integer, positiveId, withIdempotencyKey, withJson, type CliContext, type JsonOption } from '../options.js';
import { record, table, type Column } from '../output.js';

type AdminJob = z.infer<typeof s.adminJob>;

const jobColumns: Column<AdminJob>[] = [
  { header: 'ID', value: (j) => j.id },
  { header: 'KIND', value: (j) => j.kind },
  { header: 'STATE', value: (j) => j.state },
  { header: 'ATTEMPTS', value: (j) => `${j.attempts}/${j.max_attempts}` },
  { header: 'CLIENT', value: (j) => j.client_id },
  { header: 'RUN AT', value: (j) => j.run_at },
  { header: 'LAST ERROR', value: (j) => (j.last_error ? j.last_error.slice(0, 60) : null) },
];

const jobText = (j: AdminJob) => record(j, { payload: (v) => JSON.stringify(v) });

export function jobsCommands(program: Command, ctx: CliContext): void {
  const jobs = program.command('jobs').description('see and retry background jobs (domain provisioning, cleanup, ...)');
  withJson(jobs.command('list'))
    .description('list jobs, newest first, a page at a time')
    .option('--state <state>', 'only queued, running, succeeded or failed jobs')
    .option('--kind <kind>', 'only jobs of this kind (e.g. relay.apply)')
    .option('--client <id>', 'only jobs about this client', positiveId)
    .option('--limit <n>', 'at most this many (1-1000, default 100)', integer)
    .option('--before <id>', 'continue a listing before this job id (printed as the next page hint)', positiveId)
    .action(async (opts: JsonOption & { state?: string; kind?: string; client?: number; limit?: number; before?: number }) => {
      const page = await ctx
        .api()
        .get<{ jobs: AdminJob[]; next_before: number | null }>('jobs', { state: opts.state, kind: opts.kind, client_id: opts.client, limit: opts.limit, before: opts.before });
      ctx.emit(opts, page, () => table(page.jobs, jobColumns, 'no jobs') + (page.next_before !== null ? `more: add --before ${page.next_before}\n` : ''));
    });

  withJson(jobs.command('show'))
    .description('show one job with its payload and last error')
    .addArgument(idArgument('id', 'job id'))
    .action(async (id: number, opts: JsonOption) => {
      const job = await ctx.api().get<AdminJob>(`jobs/${id}`);
      ctx.emit(opts, job, () => jobText(job));
    });

  withIdempotencyKey(withJson(jobs.command('retry')))
    .description('give a failed job a fresh set of attempts')
    .addArgument(idArgument('id', 'job id'))
    .action(async (id: number, opts: JsonOption) => {
      const job = await ctx.api().post<AdminJob>(`jobs/${id}/retry`);
      ctx.emit(opts, job, () => jobText(job));
    });
}
