import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Job } from '../../jobs/job.repository.js';
import type { JobHandler } from '../../jobs/job-runner.js';
import type { Ctx } from '../context.js';
import { openWebhookSecret } from '../secrets/secret.service.js';
import * as repo from './webhook.repository.js';
import { WEBHOOK_DELIVER_JOB_KIND, WEBHOOK_RESPONSE_CAP_BYTES } from './webhook.schema.js';
import { hostOf, parseWebhookUrl, resolvePublicAddresses, WebhookTargetError, type ResolvedAddress } from './webhook-target.js';

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the endpoint's secret. */
export function webhookSignature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface PostResult {
  statusCode: number;
  /** The start of the response body, at most the cap. */
  body: string;
}

/**
 * POSTs to the URL, connecting only to the addresses already checked (a lookup hook hands them to the
 * socket, so DNS cannot swap in another between check and connect). No redirects are followed; the
 * whole exchange has one time limit and the response is read up to the cap, then the socket is dropped.
 */
export function postOnce(url: URL, addresses: ResolvedAddress[], headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResult> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) (callback as unknown as (err: null, addresses: ResolvedAddress[]) => void)(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve, reject) => {
    const req = client.request(
      {
        protocol: url.protocol,
        hostname: hostOf(url),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          clearTimeout(timer);
          resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        };
        res.on('data', (chunk: Buffer) => {
          const room = WEBHOOK_RESPONSE_CAP_BYTES - size;
          if (room > 0) chunks.push(chunk.subarray(0, room));
          size += chunk.length;
          if (size >= WEBHOOK_RESPONSE_CAP_BYTES) {
            res.destroy();
            done();
          }
        });
        res.on('end', done);
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

/** Sends one delivery; throws (so the job retries with backoff) unless the receiver answered 2xx. */
async function deliver(ctx: Ctx, deliveryId: number): Promise<void> {
  const d = await repo.findDeliveryForSending(ctx.db, deliveryId);
  if (!d || d.status !== 'pending') return; // gone, or already settled by an earlier run of this job
  if (!d.active) {
    await repo.setDeliveryStatus(ctx.db, [d.id], 'failed', 'endpoint deleted');
    return;
  }
  const body = JSON.stringify(d.payload);
  const now = ctx.clock();
  let result: PostResult;
  let url: URL;
  let addresses: ResolvedAddress[];
  let secret: string;
  try {
    // A secret that does not open (altered, or its key is gone) fails the attempt: never a signature under anything else.
    secret = openWebhookSecret(ctx, d.endpoint_id, d.secret, d.secret_key_id);
    // Checked again for every attempt: what a name resolves to can change after registration.
    url = parseWebhookUrl(d.url);
    addresses = await resolvePublicAddresses(hostOf(url), ctx.settings.webhookAllowPrivate, ctx.settings.webhookResolveHost);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof WebhookTargetError && err.refused) {
      // A target that now leads to a private address is not retried: the delivery fails for good.
      ctx.log.warn({ deliveryId: d.id }, `webhook delivery refused: ${message}`);
      await repo.recordAttempt(ctx.db, d.id, { status: 'failed', statusCode: null, error: `refused: ${message}` }, ctx.clock());
      return;
    }
    await repo.recordAttempt(ctx.db, d.id, { statusCode: null, error: message }, ctx.clock());
    throw new Error(`webhook delivery ${d.id}: ${message}`);
  }
  try {
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Hostplane-Webhooks/1',
      'hostplane-signature': webhookSignature(secret, body, Math.floor(now.getTime() / 1000)),
      'hostplane-event-id': d.event_id,
      'hostplane-event-type': d.event_type,
    };
    result = await postOnce(url, addresses, headers, body, ctx.settings.webhookTimeoutMs);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await repo.recordAttempt(ctx.db, d.id, { statusCode: null, error: message }, ctx.clock());
    throw new Error(`webhook delivery ${d.id}: ${message}`);
  }
  if (result.statusCode >= 200 && result.statusCode < 300) {
    await repo.recordAttempt(ctx.db, d.id, { status: 'delivered', statusCode: result.statusCode, error: null }, ctx.clock());
    return;
  }
  const message = `receiver answered ${result.statusCode}${result.body ? `: ${result.body.slice(0, 200)}` : ''}`;
  await repo.recordAttempt(ctx.db, d.id, { statusCode: result.statusCode, error: message }, ctx.clock());
  throw new Error(`webhook delivery ${d.id}: ${message}`);
}

const deliveryIdOf = (job: Job) => Number(job.payload.delivery_id);

/** `webhook.deliver`: one delivery per batch, so one receiver's failure never holds back another's. */
export const webhookDeliveryHandler: JobHandler = {
  kind: WEBHOOK_DELIVER_JOB_KIND,
  maxBatch: 1,
  async handle(ctx: Ctx, jobs: Job[]): Promise<void> {
    for (const job of jobs) await deliver(ctx, deliveryIdOf(job));
  },
  async onExhausted(ctx: Ctx, jobs: Job[]): Promise<void> {
    await repo.setDeliveryStatus(ctx.db, jobs.map(deliveryIdOf), 'failed');
  },
};
