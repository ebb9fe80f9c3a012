import pg from 'pg';
import { DatabaseUnavailableError } from '../errors/db-unavailable.js';

/**
 * A PostgreSQL URL naming several servers, as libpq writes it and as `pg_autoctl show uri` prints it:
 * `postgres://user@node1:5432,node2:5432/db?target_session_attrs=read-write`. node-postgres takes one
 * host only, so the URL is split into one URL per host, and the server to use is the first one that
 * accepts writes (ADR 25).
 */
export interface PgHosts {
  /** One single-host URL per server, in the order the URL lists them. */
  urls: string[];
  /** host:port of each, for messages. */
  names: string[];
  /** Whether connections must go to a server that accepts writes (several hosts, or asked for). */
  readWrite: boolean;
}

const URL_PARTS = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/;

export function parsePgHosts(databaseUrl: string): PgHosts {
  const m = URL_PARTS.exec(databaseUrl);
  if (!m) return { urls: [databaseUrl], names: [databaseUrl], readWrite: false };
  const [, scheme, userinfo = '', hostList = '', rest = ''] = m;
  const [pathPart = '', query] = splitOnce(rest, '?');
  const params = new URLSearchParams(query ?? '');
  const attrs = params.get('target_session_attrs');
  params.delete('target_session_attrs');
  const search = params.toString();
  const tail = `${pathPart}${search ? `?${search}` : ''}`;
  const hosts = hostList.split(',').filter((h) => h !== '');
  if (hosts.length === 0) hosts.push('');
  return {
    urls: hosts.map((h) => `${scheme}${userinfo}${h}${tail}`),
    names: hosts.map((h) => h || 'localhost'),
    readWrite: hosts.length > 1 || attrs === 'read-write' || attrs === 'primary',
  };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

interface Target {
  host: string;
  port: number;
  index: number;
}

/** Whether a connected session may write: the check libpq's `target_session_attrs=read-write` makes. */
async function acceptsWrites(client: pg.Client): Promise<boolean> {
  const r = await client.query<{ transaction_read_only: string }>('show transaction_read_only');
  return r.rows[0]?.transaction_read_only === 'off';
}

/**
 * Which of several servers is the primary now. It remembers the last one found and asks all of them
 * again (side by side, each within `probeMs`) once that one refused a connection or turned read-only:
 * after a failover, the first new connection finds the promoted standby. Concurrent callers share one
 * search; a search that found no primary is reused for a moment, so a burst of requests during a
 * failover does not become a burst of connections to every server.
 */
export class PrimaryLocator {
  private known: Target | undefined;
  private search: Promise<Target> | undefined;
  private failedAt = 0;
  private lastFailure: Error | undefined;
  private readonly targets: { host: string; port: number }[];

  constructor(
    private readonly hosts: PgHosts,
    private readonly probeMs: number,
  ) {
    this.targets = hosts.urls.map((url) => {
      const p = new pg.Client({ connectionString: url });
      return { host: p.host, port: p.port };
    });
  }

  /** The primary to connect to; a DatabaseUnavailableError when none of the servers accepts writes. */
  primary(): Promise<Target> {
    if (this.known) return Promise.resolve(this.known);
    if (this.lastFailure && Date.now() - this.failedAt < 250) return Promise.reject(this.lastFailure);
    if (!this.search) {
      this.search = this.find().then(
        (t) => {
          this.search = undefined;
          this.known = t;
          this.lastFailure = undefined;
          return t;
        },
        (err: Error) => {
          this.search = undefined;
          this.lastFailure = err;
          this.failedAt = Date.now();
          throw err;
        },
      );
    }
    return this.search;
  }

  /** That server refused a connection or writes: search again on the next connection. */
  forget(target: Target): void {
    if (this.known?.index === target.index) this.known = undefined;
  }

  /** A fresh search, ignoring what is remembered (the guard's liveness probe). */
  async probe(): Promise<void> {
    this.known = undefined;
    this.lastFailure = undefined;
    await this.primary();
  }

  private async find(): Promise<Target> {
    const answers = await Promise.all(
      this.hosts.urls.map(async (url) => {
        const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: this.probeMs, query_timeout: this.probeMs });
        client.on('error', () => {});
        try {
          await client.connect();
          return (await acceptsWrites(client)) ? 'primary' : 'read-only';
        } catch (err) {
          return (err as Error).message || String((err as { code?: unknown }).code);
        } finally {
          void client.end().catch(() => {});
        }
      }),
    );
    const index = answers.indexOf('primary');
    if (index >= 0) return { ...this.targets[index]!, index };
    const why = answers.map((a, i) => `${this.hosts.names[i]}: ${a}`).join('; ');
    return Promise.reject(new DatabaseUnavailableError(`no primary database server (${why})`));
  }
}


/**
 * A pg.Client that connects to the current primary of a locator and checks that it accepts writes
 * before it is used (pg.Pool takes it as its `Client`). A server that refuses, or answers read-only
 * (a standby, or a demoted primary), makes the locator search again, and this connect fails as
 * "database unavailable": a 503 with Retry-After in every door, and the next connection tries anew.
 */
export function primaryClientClass(locator: PrimaryLocator): typeof pg.Client {
  class PrimaryClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      // Between connecting and the pool's own listener (the read-write check runs there), a server
      // dying must fail this connect, not crash the process; queries still get their errors.
      this.on('error', () => {});
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error | null, client?: pg.Client) => void): void;
    override connect(callback?: (err: Error | null, client?: pg.Client) => void): Promise<pg.Client> | void {
      const done = this.connectToPrimary().then(() => this as pg.Client);
      if (!callback) return done;
      done.then(
        (client) => callback(null, client),
        (err: Error) => callback(err),
      );
    }

    private async connectToPrimary(): Promise<void> {
      const target = await locator.primary();
      // pg reads these when it opens the socket; the URL it was built from named the first server.
      const self = this as unknown as { host: string; port: number; connectionParameters: { host: string; port: number } };
      self.host = self.connectionParameters.host = target.host;
      self.port = self.connectionParameters.port = target.port;
      try {
        await super.connect();
      } catch (err) {
        locator.forget(target);
        throw err;
      }
      let writable: boolean;
      try {
        writable = await acceptsWrites(this);
      } catch (err) {
        locator.forget(target);
        void this.end().catch(() => {});
        throw err;
      }
      if (!writable) {
        locator.forget(target);
        void this.end().catch(() => {});
        throw new DatabaseUnavailableError(`the database server ${target.host}:${target.port} is read-only (a standby): no primary yet`);
      }
    }
  }
  return PrimaryClient;
}
