import { AppError } from '../errors/app-error.js';

// Query strings as the REST doors read them: Fastify hands a repeated parameter over as an array, and
// every value as text. Bad values are the doors' ordinary validation errors, named by parameter.

/** The one value of a parameter, or undefined; a repeated one is refused. */
export function queryValue(query: unknown, key: string): string | undefined {
  const v = (query as Record<string, unknown> | undefined)?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw AppError.validation({ [key]: ['must be given once'] });
  return v;
}

/** A page size from 1 to `max`, `fallback` when absent. */
export function queryLimit(raw: string | undefined, options: { max: number; fallback: number }): number {
  if (raw === undefined) return options.fallback;
  const n = /^[0-9]{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= options.max)) throw AppError.validation({ limit: [`must be a whole number from 1 to ${options.max}`] });
  return n;
}

/** An id (a cursor, a filter), or undefined when absent. */
export function queryId(raw: string | undefined, field: string, message = 'must be a positive whole number'): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(raw)) throw AppError.validation({ [field]: [message] });
  return Number(raw);
}

/** A numeric id in the path; anything else names nothing, so it is not found rather than invalid. */
export function pathId(params: unknown, what: string, key = 'id'): number {
  const id = (params as Record<string, unknown> | undefined)?.[key];
  if (typeof id !== 'string' || !/^[0-9]{1,15}$/.test(id)) throw AppError.notFound(what);
  return Number(id);
}
