import type { z } from 'zod';
import {
  AGENT_API_PREFIX,
  AgentErrorBody,
  EnrolResponse,
  HeartbeatResponse,
  instanceFilePath,
  StateResponse,
  UsageResponse,
  type HeartbeatRequest,
  type StatusRequest,
  type UsageRequest,
} from '../core/nodes/agent-wire.schema.js';

/**
 * Why a call to the control plane failed, as the loop needs to know it: `unauthorized` (401: the
 * token is gone; keep serving, retry slowly), `unavailable` (network error, timeout, 5xx, 429, an
 * answer that is not the contract: back off and retry), `rejected` (another 4xx: this request will
 * not succeed as sent).
 */
export type WireFailure = 'unauthorized' | 'unavailable' | 'rejected';

export class WireError extends Error {
  constructor(
    readonly failure: WireFailure,
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** How much longer than its wait a long-poll may take before the agent gives up on it (deploy/haproxy.cfg's `timeout server` fits in it). */
export const LONG_POLL_SLACK_MS = 15_000;

export interface WireClientOptions {
  url: string;
  /** Extra time over a long-poll's wait before the request is given up. */
  slackMs?: number;
  /** Deadline of every call that does not wait (enrol, status, heartbeat, usage). */
  timeoutMs?: number;
  userAgent?: string;
}

/** The agent's side of `/agent/v1`: every answer is checked against the same schema the server uses. */
export class WireClient {
  private readonly base: string;
  private readonly slackMs: number;
  private readonly timeoutMs: number;
  token: string | undefined;

  constructor(private readonly options: WireClientOptions) {
    this.base = options.url.replace(/\/+$/, '') + AGENT_API_PREFIX;
    this.slackMs = options.slackMs ?? LONG_POLL_SLACK_MS;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  enrol(enrolmentToken: string): Promise<EnrolResponse> {
    return this.call('POST', '/enrol', { token: enrolmentToken, body: {}, schema: EnrolResponse });
  }

  /** Without `since`, the node's whole desired state; with it, the changes after it, waiting up to `waitSeconds`. */
  state(since: number | undefined, waitSeconds: number, signal?: AbortSignal): Promise<StateResponse> {
    const q = since === undefined ? '' : `?since=${since}&wait=${waitSeconds}`;
    const timeoutMs = (since === undefined ? 0 : waitSeconds * 1000) + this.slackMs;
    return this.call('GET', `/state${q}`, { schema: StateResponse, timeoutMs, signal });
  }

  async status(body: StatusRequest): Promise<void> {
    await this.call('POST', '/status', { body });
  }

  heartbeat(body: HeartbeatRequest): Promise<z.infer<typeof HeartbeatResponse>> {
    return this.call('POST', '/heartbeat', { body, schema: HeartbeatResponse });
  }

  usage(body: UsageRequest): Promise<UsageResponse> {
    return this.call('POST', '/usage', { body, schema: UsageResponse });
  }

  /** The content of a file staged for one of this node's instance databases (the raw bytes). */
  instanceFile(id: number): Promise<Buffer> {
    return this.call('GET', instanceFilePath(id), { binary: true, timeoutMs: Math.max(this.timeoutMs, 120_000) }) as Promise<Buffer>;
  }

  private async call<T>(
    method: 'GET' | 'POST',
    route: string,
    opts: { body?: unknown; schema?: z.ZodType<T>; token?: string; timeoutMs?: number; signal?: AbortSignal; binary?: boolean },
  ): Promise<T> {
    const token = opts.token ?? this.token;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    let res: Response;
    let text: string;
    let bytes: Buffer | undefined;
    try {
      res = await fetch(this.base + route, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal });
      if (opts.binary && res.ok) {
        bytes = Buffer.from(await res.arrayBuffer());
        text = '';
      } else text = await res.text();
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout.aborted ? 'no answer in time' : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new WireError('unavailable', `${method} ${AGENT_API_PREFIX}${route}: ${why}`);
    }
    if (!res.ok) {
      let code: string | undefined;
      let message = text.slice(0, 300);
      try {
        const err = AgentErrorBody.safeParse(JSON.parse(text));
        if (err.success) ({ code, message } = err.data.error);
      } catch {
        // not JSON: the start of the body is the message
      }
      const failure: WireFailure = res.status === 401 ? 'unauthorized' : res.status >= 500 || res.status === 429 || res.status === 408 ? 'unavailable' : 'rejected';
      throw new WireError(failure, `${method} ${AGENT_API_PREFIX}${route}: HTTP ${res.status}${code ? ` ${code}` : ''}: ${message}`, res.status, code);
    }
    if (bytes) return bytes as T;
    if (!opts.schema) return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WireError('unavailable', `${method} ${AGENT_API_PREFIX}${route}: the answer is not JSON`);
    }
    const parsed = opts.schema.safeParse(json);
    if (!parsed.success) throw new WireError('unavailable', `${method} ${AGENT_API_PREFIX}${route}: the answer does not match /agent/v1 (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
    return parsed.data;
  }
}
