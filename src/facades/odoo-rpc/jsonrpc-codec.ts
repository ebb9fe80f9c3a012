import { AppError } from '../../errors/app-error.js';
import { odooDateTime } from './xmlrpc-codec.js';

/**
 * Odoo's JSON-RPC envelope (`/jsonrpc`, `/web/session/authenticate`, `/web/webclient/version_info`):
 * `{"jsonrpc": "2.0", "method": "call", "params": {...}, "id": ...}` in, `{"jsonrpc": "2.0", "id", "result"}`
 * or `{"jsonrpc": "2.0", "id", "error"}` out. Like Odoo, the `method` member is ignored (the path routes)
 * and params must be an object. Transport only; see ADR 6.
 */

export interface JsonRpcRequest {
  /** As sent; null when absent. */
  id: unknown;
  params: Record<string, unknown>;
}

export interface JsonRpcError {
  code: number;
  message: string;
  data: {
    name: string;
    debug: string;
    message: string;
    arguments: unknown[];
    exception_type: string;
    context: Record<string, unknown>;
  };
}

function malformed(message: string): AppError {
  return new AppError('malformed_request', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Refuses nesting deeper than maxDepth and text with U+0000 (PostgreSQL cannot store it), without
 * recursion, so a hostile body cannot overflow the stack.
 */
function checkParsed(input: unknown, maxDepth: number, envelope: number): void {
  const pending: [unknown, number][] = [[input, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) throw malformed('Invalid JSON-RPC data: text must not contain NUL (U+0000) characters');
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= maxDepth + envelope) throw malformed(`Invalid JSON-RPC data: values nested deeper than ${maxDepth} levels`);
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\u0000')) throw malformed('Invalid JSON-RPC data: text must not contain NUL (U+0000) characters');
        pending.push([item, depth + 1]);
      }
    }
  }
}

/**
 * A request body → id and params. `maxDepth` bounds the arguments; the envelope
 * (`{params: {args: [...]}}`) adds its own three levels.
 */
export function decodeJsonRpcRequest(body: string, maxDepth: number): JsonRpcRequest {
  if (body.trim() === '') throw malformed('Invalid JSON data: empty request, expected a JSON-RPC object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw malformed(`Invalid JSON data: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw malformed('Invalid JSON-RPC data: expected an object');
  checkParsed(parsed, maxDepth, 3);
  const params = parsed.params ?? {};
  if (!isPlainObject(params)) throw malformed('Invalid JSON-RPC data: params must be an object');
  return { id: parsed.id ?? null, params };
}

/**
 * Result values the way Odoo's JSON encoder writes them: Date as `YYYY-MM-DD HH:MM:SS` (UTC), bytes
 * as base64 text, Maps as objects, bigints as numbers (as text beyond 2^53, where JSON readers in
 * JavaScript would round them).
 */
function replacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify has already applied toJSON (Date → ISO text, Buffer → {type, data}): look at the original.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? false : odooDateTime(raw);
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  if (raw instanceof Map) return Object.fromEntries([...(raw as Map<unknown, unknown>)].map(([k, v]) => [String(k), v]));
  if (typeof raw === 'bigint') return Number.isSafeInteger(Number(raw)) ? Number(raw) : raw.toString();
  return value;
}

/** A result; null and undefined become `false`, as Odoo, which cannot return None, would answer. */
export function encodeJsonRpcResult(id: unknown, result: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id, result: result ?? false }, replacer);
}

export function encodeJsonRpcError(id: unknown, error: JsonRpcError): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error });
}
