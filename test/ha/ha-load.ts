import { clientDomains, sleep } from '../jobs-process/process-harness.js';

/*
 * The client side of the HA suite and of `npm run bench:ha`: keyed creates (POST /v1/clients with an
 * Idempotency-Key, sent again with the same key until they succeed) and reads of what was created,
 * every attempt recorded with its status, so the caller can count what was acknowledged, what was
 * answered meanwhile and how long nothing could be written.
 */

/** Far above every deadline involved (connect 1 s, probe 0.5 s, HAProxy's checks): an answer later than this hung. */
export const HANG_MS = 20_000;

export interface Attempt {
  status: number | 'network' | 'hang';
  retryAfter: string | null;
  replayed: boolean;
  at: number;
}

export interface KeyedWrite {
  key: string;
  name: string;
  /** The number its body and domain derive from. */
  n: number;
  attempts: Attempt[];
  id?: number;
  ackedAt?: number;
}

export class KeyedLoad {
  readonly writes: KeyedWrite[] = [];
  readonly reads: Attempt[] = [];

  constructor(
    private readonly baseUrl: () => string,
    private readonly auth: string,
    readonly run: string,
    private readonly retryDelayMs = 150,
  ) {}

  /** The one domain write `n` creates. */
  domainOf(n: number): string {
    return clientDomains(this.run, n)[0]!.name;
  }

  /** The clients of this run are named by this prefix. */
  get namePrefix(): string {
    return `HA ${this.run} `;
  }

  async send(method: string, path: string, body?: unknown, key?: string): Promise<Attempt & { body: unknown }> {
    const at = Date.now();
    try {
      const res = await fetch(`${this.baseUrl()}${path}`, {
        method,
        headers: { authorization: this.auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { 'idempotency-key': key } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(HANG_MS),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // kept as text for the failure message
      }
      return { status: res.status, retryAfter: res.headers.get('retry-after'), replayed: res.headers.get('idempotency-replayed') === 'true', at, body: parsed };
    } catch (err) {
      const hung = (err as Error).name === 'TimeoutError';
      return { status: hung ? 'hang' : 'network', retryAfter: null, replayed: false, at, body: String(err) };
    }
  }

  /** One keyed create, sent again with the same key until it succeeds (as a client following Retry-After would, sooner). */
  async create(n: number): Promise<KeyedWrite> {
    const w: KeyedWrite = { key: `${this.run}-${n}`, name: `${this.namePrefix}${n}`, n, attempts: [] };
    this.writes.push(w);
    const body = { package_uid: 'spamstopshere-standard', user_count: 1, email_address: `ha${n}@example.com`, name: w.name, domains: [{ name: this.domainOf(n) }] };
    for (;;) {
      const a = await this.send('POST', '/v1/clients', body, w.key);
      w.attempts.push({ status: a.status, retryAfter: a.retryAfter, replayed: a.replayed, at: a.at });
      if (a.status === 201 || a.status === 200) {
        w.id = (a.body as { id: number }).id;
        w.ackedAt = Date.now();
        return w;
      }
      if (a.status === 'hang') return w;
      await sleep(this.retryDelayMs);
    }
  }

  /** Keyed creates, each followed by a read of what it created, from `loops` loops, until `stop` says so. */
  drive(first: number, loops: number, stop: () => boolean): Promise<void> {
    let next = first;
    const loop = async () => {
      while (!stop()) {
        const w = await this.create(next++);
        if (w.id === undefined) return;
        this.reads.push(await this.send('GET', `/v1/clients/${w.id}`));
      }
    };
    return Promise.all(Array.from({ length: loops }, loop)).then(() => undefined);
  }

  acknowledgedAfter(t: number): KeyedWrite[] {
    return this.writes.filter((w) => (w.ackedAt ?? 0) > t);
  }
}

export const statusesOf = (list: Attempt[]) => [...new Set(list.map((a) => a.status))].sort();

/** For every acknowledged write, the ids of the clients with its name that differ from "exactly its id once". */
export function lostOrDoubled(writes: KeyedWrite[], clients: { id: number; name: string | null }[], prefix: string): { name: string; acked: number | undefined; found: number[] | undefined }[] {
  const byName = new Map<string, number[]>();
  for (const c of clients) if (c.name?.startsWith(prefix)) byName.set(c.name, [...(byName.get(c.name) ?? []), c.id]);
  return writes
    .filter((w) => w.id !== undefined)
    .filter((w) => JSON.stringify(byName.get(w.name)) !== JSON.stringify([w.id]))
    .map((w) => ({ name: w.name, acked: w.id, found: byName.get(w.name) }));
}
