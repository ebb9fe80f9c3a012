import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SLOW = 240_000;
import { auditMark, expectDoorAnswer, expectRefusalsChangedNothing, HUGE, hostileValues, PROTO_NAMES, startFuzzWorld, toJsonText, type FuzzWorld } from './fuzz-world.js';

/**
 * The fuzz pass over the REST doors (HSP /v1, admin /admin/v1, client /client/v1, REMP CRM /api/v1 with
 * JSON and form bodies, the nodes' /agent/v1), driven by the app's own /openapi.json: every operation it documents, so a new
 * one is covered without editing this file. Each path parameter, query parameter and body field gets
 * every hostile value, authenticated as that door's legitimate caller.
 */

interface Operation {
  method: string;
  path: string;
  security: string | undefined;
  params: { in: 'path' | 'query'; name: string }[];
  fields: string[];
  hasBody: boolean;
}

// The REMP endpoints read their bodies themselves, so the document does not list every field they take.
const UNDOCUMENTED_FIELDS: Record<string, string[]> = {
  'POST /api/v1/users/login': ['email', 'password'],
  'POST /api/v1/users/register': ['email', 'password', 'first_name', 'last_name'],
  'POST /api/v1/subscriptions/create': ['email', 'subscription_type_id', 'is_paid', 'start_time', 'end_time', 'type', 'note'],
  'POST /api/v1/payments/create': ['email', 'subscription_type_id', 'payment_gateway', 'amount', 'items', 'meta', 'status'],
  'GET /api/v1/family/activate': ['code'],
  'POST /api/v1/family/activate': ['code'],
  'GET /api/v1/family/deactivate': ['code'],
  'POST /api/v1/family/deactivate': ['code'],
};

// Signing out would end the session the client door's pass runs in; nothing else is left out.
const SKIPPED = new Set(['DELETE /client/v1/session']);

let w: FuzzWorld;
let operations: Operation[];
let mark: number;

beforeAll(async () => {
  w = await startFuzzWorld();
  const doc = JSON.parse((await w.send('GET', '/openapi.json', {})).body) as { paths: Record<string, Record<string, { security?: Record<string, unknown>[]; parameters?: { in: string; name: string }[]; requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> } }>> };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const key = `${method.toUpperCase()} ${path}`;
      const documented = Object.keys(Object.values(op.requestBody?.content ?? {})[0]?.schema?.properties ?? {});
      return {
        method: method.toUpperCase(),
        path,
        security: Object.keys(op.security?.[0] ?? {})[0],
        params: (op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query') as Operation['params'],
        fields: [...new Set([...documented, ...(UNDOCUMENTED_FIELDS[key] ?? [])])],
        hasBody: op.requestBody !== undefined || UNDOCUMENTED_FIELDS[key] !== undefined,
      };
    }),
  );
  mark = await auditMark(w.t);
});
afterAll(() => w?.close());

/** A caller each door accepts: Basic for HSP, the operator key, the client session, the CRM tokens. */
function credentials(op: Operation): Record<string, string> {
  switch (op.security) {
    case 'resellerBasic':
      return { authorization: w.reseller.auth };
    case 'operatorBearer':
      return w.operator;
    case 'clientSession':
      return w.clientSession;
    case 'crmUser':
      return w.crmUser;
    case 'crmApiToken':
      return w.crmApi;
    case 'nodeBearer':
      return w.node;
    default:
      return op.path.startsWith('/client/v1/') ? w.clientSession : {};
  }
}

/** A value that names something real, so that the other parameters are what gets refused. */
function validPathValue(op: Operation, name: string): string {
  if (name === 'domain_name' || name === 'name') return w.domain;
  if (name === 'uid') return 'spamstopshere-standard';
  if (name === 'fn') return 'admin:collect';
  if (name === 'tag_name') return 'cpanel';
  if (name === 'code') return 'nonexistent-code';
  if (op.path.startsWith('/admin/v1/resellers/')) return String(w.victim.id);
  return String(w.clientId);
}

const asText = (v: unknown): string => (typeof v === 'string' ? v : toJsonText(v));
/** Percent-encoding; a lone surrogate goes as the bytes it would be, which are not UTF-8. */
const enc = (s: string): string => {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '')) + '%ED%A0%80';
  }
};

function url(op: Operation, given: Record<string, string>, query = ''): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => enc(given[name] ?? validPathValue(op, name)));
  return query ? `${path}?${query}` : path;
}

const values = hostileValues({ long: 20_000, seed: 12, random: 3 });
// Each field of each body gets a shorter list (the whole list as whole bodies): the run stays bounded.
const FIELD_LABELS = new Set(['name __proto__', 'name constructor', 'name toString', '{toString}', '{valueOf: {}}', 'NUL', 'NUL in list', 'long text', 'null', 'true', 'fraction', 'beyond int8', 'list of objects', 'lone surrogate', 'random 0']);
const fieldValues = values.filter(([label]) => FIELD_LABELS.has(label));
// Long path parameters stay under Fastify's 500-character limit, so they reach the door's own code.
const pathValues = hostileValues({ long: 400, seed: 12, random: 3 }).filter(([label]) => FIELD_LABELS.has(label));
// As a whole body, and as one field in it; a body over the limit is tried once per operation.
const wholeBodies: [string, unknown][] = [...values, ['array body', [1, 2]], ['string body', 'text']];

async function call(op: Operation, target: string, what: string, payload?: { json?: unknown; form?: string }): Promise<void> {
  const headers = { ...credentials(op) };
  let body: string | undefined;
  if (payload?.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = toJsonText(payload.json);
  } else if (payload?.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = payload.form;
  }
  const answer = await w.send(op.method, target, headers, body);
  expectDoorAnswer(answer, target, `${op.method} ${target.slice(0, 120)} ${what}`);
}

describe('every documented REST operation, every parameter', () => {
  it('reads the operations from /openapi.json', () => {
    // Guards against a silently empty pass: every door's routes are in the document.
    for (const prefix of ['/v1/', '/admin/v1/', '/client/v1/', '/api/v1/users/', '/api/v1/family/', '/api/v1/cpcmd/']) {
      expect(operations.some((op) => op.path.startsWith(prefix)), prefix).toBe(true);
    }
    expect(operations.length).toBeGreaterThan(80);
  });

  it('path and query parameters: prototype names, NUL, long text, wrong types; never a 5xx', async () => {
    for (const op of operations.filter((o) => !SKIPPED.has(`${o.method} ${o.path}`))) {
      for (const name of PROTO_NAMES) await call(op, url(op, {}, `${enc(name)}=1`), `?${name}=1`);
      for (const p of op.params) {
        for (const [label, value] of fieldValues) {
          if (p.in === 'query') await call(op, url(op, {}, `${p.name}=${enc(asText(value))}`), `?${p.name}: ${label}`);
        }
        if (p.in === 'path') for (const [label, value] of pathValues) await call(op, url(op, { [p.name]: asText(value) }), `${p.name}: ${label}`);
        if (p.in === 'query') await call(op, url(op, {}, `${p.name}=1&${p.name}=2`), `?${p.name} twice`);
      }
    }
  }, SLOW);

  it('JSON bodies: each field, and the body as a whole; never a 5xx', async () => {
    for (const op of operations.filter((o) => o.hasBody && !SKIPPED.has(`${o.method} ${o.path}`))) {
      const target = url(op, {});
      for (const [label, value] of wholeBodies) await call(op, target, `body ${label}`, { json: value });
      for (const field of op.fields) for (const [label, value] of fieldValues) await call(op, target, `${field}: ${label}`, { json: { [field]: value } });
      await call(op, target, 'a field of a few MB', { json: { [op.fields[0] ?? 'x']: HUGE } });
    }
  }, SLOW);

  it('form bodies on the CRM door (REMP clients post forms): each field, prototype-named fields, NUL', async () => {
    for (const op of operations.filter((o) => o.path.startsWith('/api/v1/') && !o.path.startsWith('/api/v1/cpcmd/') && o.hasBody)) {
      const target = url(op, {});
      for (const name of PROTO_NAMES) await call(op, target, `form ${name}=`, { form: `${encodeURIComponent(name)}=1&email=fuzz%40example.com` });
      for (const field of op.fields) {
        for (const [label, value] of fieldValues) await call(op, target, `form ${field}: ${label}`, { form: `${field}=${enc(asText(value))}` });
        await call(op, target, `form ${field} twice`, { form: `${field}=a&${field}=b` });
      }
    }
  }, SLOW);

  it('logged no internal failure, and refused requests changed nothing', async () => {
    expect(w.internalErrors).toEqual([]);
    await expectRefusalsChangedNothing(w, mark);
  });
});
