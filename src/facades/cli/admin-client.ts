import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './cli.errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
const REQUEST_TIMEOUT_MS = 60_000;

type Env = NodeJS.ProcessEnv;
type Query = Record<string, string | number | undefined>;

// The server's config treats an empty variable as unset; the CLI reads the same variables the same way.
const envValue = (env: Env, name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);

export function serverUrl(env: Env): URL {
  const raw = envValue(env, 'HOSTPLANE_URL') ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('config', `HOSTPLANE_URL must be an http(s) URL such as ${DEFAULT_URL}, not ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('config', `HOSTPLANE_URL must be an http(s) URL such as ${DEFAULT_URL}, not ${JSON.stringify(raw)}`);
  // A server mounted under a path prefix keeps it: API paths are resolved relative to it.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** HOSTPLANE_API_KEY wins; otherwise the key `hostplane serve` wrote into its data directory. */
export function operatorKey(env: Env): string {
  const fromEnv = envValue(env, 'HOSTPLANE_API_KEY')?.trim();
  if (fromEnv) return fromEnv;
  const file = path.resolve(envValue(env, 'HOSTPLANE_DATA_DIR') ?? './data', 'operator-key');
  const hint = 'set HOSTPLANE_API_KEY to an operator key, or HOSTPLANE_DATA_DIR to the server\'s data directory';
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message;
    throw new CliError('unauthenticated', `no operator key: cannot read ${file} (${reason}); ${hint}`);
  }
  const key = content.trim();
  if (!key) throw new CliError('unauthenticated', `no operator key: ${file} is empty; ${hint}`);
  return key;
}

interface ApiErrorBody {
  error: { code: string; message: string; fields?: Record<string, string[]> };
}

function isApiError(body: unknown): body is ApiErrorBody {
  const error = (body as { error?: unknown } | null)?.error as { code?: unknown; message?: unknown } | undefined;
  return typeof error === 'object' && error !== null && typeof error.code === 'string' && typeof error.message === 'string';
}

/** The operator admin API over HTTP; every failure comes out as a CliError. */
export class AdminClient {
  /** Sent as Idempotency-Key with every POST, PUT, PATCH and DELETE, so a repeated command changes nothing twice. */
  idempotencyKey: string | undefined;

  constructor(
    private readonly base: URL,
    private readonly key: string,
  ) {}

  static fromEnv(env: Env): AdminClient {
    return new AdminClient(serverUrl(env), operatorKey(env));
  }

  get<T>(apiPath: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', apiPath, undefined, query);
  }

  post<T>(apiPath: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', apiPath, body);
  }

  put<T>(apiPath: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', apiPath, body);
  }

  patch<T>(apiPath: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', apiPath, body);
  }

  delete<T>(apiPath: string, query: Query = {}): Promise<T> {
    return this.request<T>('DELETE', apiPath, undefined, query);
  }

  /** A POST outside the admin API (the ApisCP-style function door, `api/v1/cpcmd/...`). */
  postTo<T>(fullPath: string, body: unknown): Promise<T> {
    return this.request<T>('POST', fullPath, body, {}, '');
  }

  private async request<T>(method: string, apiPath: string, body: unknown, query: Query = {}, prefix = 'admin/v1/'): Promise<T> {
    const url = new URL(`${prefix}${apiPath}`, this.base);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
    const origin = this.base.toString().replace(/\/$/, '');

    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.key}`,
          accept: 'application/json',
          // The server refuses an empty body declared as JSON, so only real bodies get the header.
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.idempotencyKey !== undefined && method !== 'GET' ? { 'idempotency-key': this.idempotencyKey } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const reason = err.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000}s` : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new CliError('unreachable', `cannot reach the Hostplane server at ${origin} (${reason}); is it running? Set HOSTPLANE_URL to its address`);
    }

    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.ok && parsed !== undefined) return parsed as T;
    if (!res.ok && isApiError(parsed)) throw new CliError(parsed.error.code, parsed.error.message, parsed.error.fields);
    if (res.status === 503) throw new CliError('unavailable', `the server at ${origin} is temporarily unavailable (HTTP 503); retry later`);
    // Not the admin API answering (a proxy, another service, a wrong HOSTPLANE_URL): say so rather than guess.
    throw new CliError('unexpected_response', `unexpected answer from ${origin}: HTTP ${res.status} ${res.headers.get('content-type') ?? 'without a content type'} to ${method} ${url.pathname}; is HOSTPLANE_URL a Hostplane server?`);
  }
}

/** A path segment the user typed (a domain, a package uid), safe to splice into a URL path. */
export const segment = (value: string | number): string => encodeURIComponent(String(value));
