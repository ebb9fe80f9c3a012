import { createHash } from 'node:crypto';
import { opDomainName, RelayError, SerialRelayDriver, type RelayOp } from './relay-driver.js';
import { assertValidOps, uniqueServers } from './relay-names.js';

/*
 * Hands every op to an external system: one POST per op to the configured URL with the JSON body
 *   { "op": "provision" | "update" | "deprovision", "domain": "example.com", "mail_servers": ["mx1.example.com"] }
 * (`mail_servers` is [] for deprovision). A 2xx status means done; any other status, a network error
 * or a timeout fails the op, and with it the batch, which the caller retries as a whole.
 *
 * `idempotency-key` is a digest of op + domain + mail servers, so a retried batch sends the same key
 * and a receiver may drop a duplicate it has already applied. Being derived from content, the key
 * repeats when the same change is legitimately made again later (provision, deprovision, provision),
 * so receivers should only dedupe within a short window — every op is idempotent anyway.
 *
 * Ops of one batch run with bounded concurrency; ops naming the same domain run one after another,
 * in batch order. After a failure no new op is started; the ones in flight finish first.
 */

export const RESPONSE_BODY_LIMIT = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_CONCURRENCY = 4;
const MESSAGE_BODY_CHARS = 500;

export interface HttpRelayDriverOptions {
  url: string;
  /** Per request, body included. Default 10 s. */
  timeoutMs?: number | undefined;
  /** Requests in flight at once within a batch. Default 4. */
  concurrency?: number | undefined;
}

export class HttpRelayDriver extends SerialRelayDriver {
  readonly name = 'http';
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly concurrency: number;

  constructor(options: HttpRelayDriverOptions) {
    super();
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new RelayError(`http relay driver: ${JSON.stringify(options.url)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RelayError('http relay driver: the URL must be http:// or https://');
    this.url = url.toString();
    this.timeoutMs = positiveInt(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.concurrency = positiveInt(options.concurrency, DEFAULT_CONCURRENCY, 'concurrency');
  }

  protected async applyBatch(ops: RelayOp[]): Promise<void> {
    assertValidOps(ops, this.name);
    const byDomain = new Map<string, RelayOp[]>();
    for (const op of ops) {
      const name = opDomainName(op);
      const list = byDomain.get(name);
      if (list) list.push(op);
      else byDomain.set(name, [op]);
    }
    const queue = [...byDomain.values()];
    const failures: RelayError[] = [];
    const worker = async () => {
      for (let group = queue.shift(); group && failures.length === 0; group = queue.shift()) {
        try {
          for (const op of group) await this.send(op);
        } catch (err) {
          failures.push(err as RelayError);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, queue.length) }, worker));
    const first = failures[0];
    if (first) {
      if (failures.length === 1) throw first;
      throw new RelayError(`${first.message} (and ${failures.length - 1} more failed)`, first.domain, first.status, { cause: new AggregateError(failures) });
    }
  }

  private async send(op: RelayOp): Promise<void> {
    const domain = opDomainName(op);
    const mailServers = op.op === 'deprovision' ? [] : uniqueServers(op.domain.mailServers);
    const what = `http relay driver: ${op.op} ${domain}`;
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'idempotency-key': idempotencyKey(op.op, domain, mailServers) },
        body: JSON.stringify({ op: op.op, domain, mail_servers: mailServers }),
        // The timeout covers the response body as well: the same signal aborts reading it.
        signal: AbortSignal.timeout(this.timeoutMs),
        // A redirected POST may silently turn into a GET: treat it as a failure instead.
        redirect: 'manual',
      });
    } catch (err) {
      throw new RelayError(`${what} failed: ${describeFetchError(err, this.timeoutMs)}`, domain, undefined, { cause: err });
    }
    let body = '';
    try {
      body = await readCapped(res, RESPONSE_BODY_LIMIT);
    } catch {
      // Only used for the message; a 2xx is done even if its body breaks off.
    }
    if (res.status >= 200 && res.status < 300) return;
    const snippet = body.replace(/\s+/g, ' ').trim().slice(0, MESSAGE_BODY_CHARS);
    throw new RelayError(`${what} failed: HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, domain, res.status);
  }
}

/** Stable per change: the same op on the same domain with the same servers always gets the same key. */
export function idempotencyKey(op: RelayOp['op'], domain: string, mailServers: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([op, domain, mailServers])).digest('hex');
}

/** Reads at most `limit` bytes of the body as text, then cancels the rest. */
async function readCapped(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (size >= limit) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no response within ${timeoutMs} ms (timed out)`;
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message ?? String(err)} (${cause})` : (e.message ?? String(err));
}

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RelayError(`http relay driver: ${what} must be a positive integer`);
  return value;
}
