import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// What /openapi.json must say of every operation (see openapi-complete.test.ts), as a list of
// problems named by operation.

type Json = Record<string, unknown>;
type Media = { schema?: Json; example?: unknown; examples?: Record<string, { value?: unknown }> };
export type Operation = {
  summary?: string;
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, Media> }>;
  parameters?: { in: string; name: string; schema?: Json; example?: unknown }[];
  'x-no-request-body'?: boolean;
};

export const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const compiled = new WeakMap<object, ValidateFunction>();
function validate(schema: Json, value: unknown): string | undefined {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn(value) ? undefined : ajv.errorsText(fn.errors, { dataVar: 'example' });
}

const examplesOf = (media: Media): unknown[] => [...(media.example !== undefined ? [media.example] : []), ...Object.values(media.examples ?? {}).map((e) => e.value)];

/** Examples nested in a schema (a property's own `examples`) must fit that part of the schema. */
function nestedExampleProblems(schema: unknown, where: string, out: string[]): void {
  if (!schema || typeof schema !== 'object') return;
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => nestedExampleProblems(s, `${where}[${i}]`, out));
    return;
  }
  const s = schema as Json;
  const own = [...(Array.isArray(s.examples) ? s.examples : []), ...('example' in s ? [s.example] : [])];
  for (const ex of own) {
    const bad = validate(s, ex);
    if (bad) out.push(`${where}: example ${JSON.stringify(ex)?.slice(0, 120)} does not match its schema (${bad})`);
  }
  for (const [key, value] of Object.entries(s)) {
    if (key === 'examples' || key === 'example' || key === 'default' || key === 'const' || key === 'enum') continue;
    nestedExampleProblems(value, `${where}.${key}`, out);
  }
}

function mediaProblems(media: Media, where: string, needExample: boolean): string[] {
  const out: string[] = [];
  if (!media.schema) return [`${where}: no schema`];
  const examples = examplesOf(media);
  if (needExample && examples.length === 0) out.push(`${where}: no example`);
  for (const ex of examples) {
    const bad = validate(media.schema, ex);
    if (bad) out.push(`${where}: example does not match its schema (${bad})`);
  }
  nestedExampleProblems(media.schema, `${where} schema`, out);
  return out;
}

export function operationProblems(method: string, path: string, op: Operation): string[] {
  const out: string[] = [];
  if (!op.summary?.trim()) out.push('no summary');

  const takesBody = method === 'post' || method === 'put' || method === 'patch';
  const body = op.requestBody?.content;
  if (body && Object.keys(body).length) {
    for (const [type, media] of Object.entries(body)) out.push(...mediaProblems(media, `request ${type}`, true));
  } else if (takesBody && op['x-no-request-body'] !== true) {
    out.push('no requestBody schema (or x-no-request-body: true for an action without a body)');
  }
  if (body && op['x-no-request-body']) out.push('both a requestBody and x-no-request-body');

  for (const name of [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
    if (!op.parameters?.some((p) => p.in === 'path' && p.name === name && p.schema)) out.push(`path parameter ${name} has no schema`);
  }
  for (const p of op.parameters ?? []) {
    if (p.example !== undefined && p.schema) {
      const bad = validate(p.schema, p.example);
      if (bad) out.push(`parameter ${p.name}: example does not match its schema (${bad})`);
    }
    if (p.schema) nestedExampleProblems(p.schema, `parameter ${p.name}`, out);
  }

  const responses = Object.entries(op.responses ?? {});
  const success = responses.filter(([code]) => /^2/.test(code));
  const noContent = responses.filter(([code, r]) => (code === '204' || /^3/.test(code)) && !r.content);
  const withContent = success.filter(([, r]) => r.content && Object.keys(r.content).length);
  if (withContent.length === 0 && noContent.length === 0) out.push('no 2xx response with a schema (nor a 204/3xx without content)');
  for (const [code, r] of withContent) {
    for (const [type, media] of Object.entries(r.content!)) out.push(...mediaProblems(media, `response ${code} ${type}`, true));
  }
  const errors = responses.filter(([code]) => /^[45]/.test(code));
  if (errors.length === 0) out.push('no error response (4xx/5xx)');
  for (const [code, r] of errors) {
    if (!r.content || !Object.keys(r.content).length) out.push(`response ${code}: no content schema`);
    else for (const [type, media] of Object.entries(r.content)) out.push(...mediaProblems(media, `response ${code} ${type}`, false));
  }
  return out;
}

export type OpenApiDocument = { openapi: string; paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>> };

export function documentProblems(doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = ops[method];
      if (!op) continue;
      for (const p of operationProblems(method, path, op)) problems.push(`${method.toUpperCase()} ${path}: ${p}`);
    }
  }
  return problems;
}
