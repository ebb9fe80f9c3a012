import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrm, type Crm, type Res } from './crm-harness.js';

// subscriptions/create and payments/create take JSON or a form (PHP's bracket spelling for nested
// fields) with the same validation and errors; bad bodies are REMP's 400s and change nothing.

let crm: Crm;
let api: string;
let parentType: { id: number; code: string };
let plainType: { id: number; code: string };

const FORM = 'application/x-www-form-urlencoded';

/** http_build_query's spelling: nested objects and lists as name[key][0]=value. */
function formEncode(value: Record<string, unknown>): string {
  const pairs: string[] = [];
  const walk = (name: string, v: unknown) => {
    if (v !== null && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) walk(`${name}[${k}]`, inner);
    } else {
      pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(v))}`);
    }
  };
  for (const [k, v] of Object.entries(value)) walk(k, v);
  return pairs.join('&');
}

const post = (url: string, body: string | Record<string, unknown>, contentType = 'application/json', token = api): Promise<Res> =>
  crm.call('POST', url, { token, body: typeof body === 'string' ? body : contentType === FORM ? formEncode(body) : JSON.stringify(body), headers: { 'content-type': contentType } });

async function counts() {
  const db = crm.t.app.dbHandle.db;
  const n = async (table: 'payments' | 'payment_items' | 'subscriptions' | 'family_requests') => Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { payments: await n('payments'), items: await n('payment_items'), subscriptions: await n('subscriptions'), codes: await n('family_requests') };
}

beforeAll(async () => {
  crm = await startCrm();
  api = await crm.apiToken('/api/v1/subscriptions/create', '/api/v1/payments/create');
  parentType = await crm.subscriptionType('company_year', { length: 365 });
  const childType = await crm.subscriptionType('member_year', { length: 365 });
  plainType = await crm.subscriptionType('web_month', { length: 31 });
  await crm.familyType({ parent: parentType.code, child: childType.code, method: 'copy', count: 0, is_paid: true });
});
afterAll(() => crm.close());

describe('subscriptions/create', () => {
  it('a JSON body and a form body create the same subscription', async () => {
    const [a, b] = [await crm.user(), await crm.user()];
    const json = await post('/api/v1/subscriptions/create', { email: a.email, subscription_type_id: plainType.id, is_paid: true, type: 'gift', note: 'n' });
    const form = await post('/api/v1/subscriptions/create', `email=${encodeURIComponent(b.email)}&subscription_type_id=${plainType.id}&is_paid=1&type=gift&note=n`, FORM);
    expect(json.status).toBe(200);
    expect(form.status).toBe(200);
    const strip = (r: Res) => ({ ...r.body, subscriptions: { ...r.body.subscriptions, id: 0, start_time: 0, end_time: 0 } });
    expect(strip(form)).toEqual(strip(json));
    expect(form.body.subscriptions).toMatchObject({ code: plainType.code, is_paid: true, type: 'gift' });
  });

  it('a form with a charset parameter is still a form', async () => {
    const u = await crm.user();
    const res = await post('/api/v1/subscriptions/create', `email=${encodeURIComponent(u.email)}&subscription_type_id=${plainType.id}&is_paid=0`, `${FORM}; charset=UTF-8`);
    expect(res.status).toBe(200);
    expect(res.body.subscriptions.is_paid).toBe(false);
  });

  it('the same validation errors, word for word, from either encoding', async () => {
    const u = await crm.user();
    const before = await counts();
    const cases: [Record<string, unknown>, string][] = [
      [{ email: u.email, is_paid: true }, `email=${encodeURIComponent(u.email)}&is_paid=1`],
      [{ email: u.email, subscription_type_id: 'x1', is_paid: 'yes' }, `email=${encodeURIComponent(u.email)}&subscription_type_id=x1&is_paid=yes`],
      [{ email: u.email, subscription_type_id: plainType.id, is_paid: true, colour: 'red' }, `email=${encodeURIComponent(u.email)}&subscription_type_id=${plainType.id}&is_paid=1&colour=red`],
    ];
    for (const [json, form] of cases) {
      const a = await post('/api/v1/subscriptions/create', json);
      const b = await post('/api/v1/subscriptions/create', form, FORM);
      expect(a.status).toBe(400);
      expect(a.body).toMatchObject({ status: 'error', message: 'Payload error' });
      expect(b).toMatchObject({ status: a.status, body: a.body });
    }
    const nobody = await post('/api/v1/subscriptions/create', { email: 'nobody@example.com', subscription_type_id: plainType.id, is_paid: true });
    const nobodyForm = await post('/api/v1/subscriptions/create', `email=nobody%40example.com&subscription_type_id=${plainType.id}&is_paid=1`, FORM);
    expect(nobody).toMatchObject({ status: 404, body: { status: 'error', code: 'user_not_found' } });
    expect(nobodyForm).toMatchObject({ status: 404, body: nobody.body });
    expect(await counts()).toEqual(before);
  });
});

describe('payments/create', () => {
  const payment = (email: string) => ({
    email,
    subscription_type_id: parentType.id,
    amount: '249.50',
    meta: { family_subscriptions_count: '2', source: 'shop' },
    items: [
      { subscription_type_id: parentType.id, name: 'Company, 2 seats', count: '2', price: '99.75', meta: { sku: 'C-2' } },
      { name: 'Setup', count: '1', price: '50' },
    ],
  });

  it('a form with bracketed meta and items records the same payment as JSON, with its family codes', async () => {
    const [a, b] = [await crm.user(), await crm.user()];
    const json = await post('/api/v1/payments/create', payment(a.email));
    const form = await post('/api/v1/payments/create', formEncode(payment(b.email)), FORM);
    expect(json.status).toBe(200);
    expect(form.status).toBe(200);
    const strip = (r: Res) => ({ ...r.body.payment, id: 0, items: r.body.payment.items.map((i: Record<string, unknown>) => ({ ...i, id: 0 })) });
    expect(strip(form)).toEqual(strip(json));
    expect(form.body.payment).toMatchObject({ status: 'paid', amount: 249.5, meta: { family_subscriptions_count: '2', source: 'shop' } });
    expect(form.body.payment.items).toMatchObject([{ name: 'Company, 2 seats', count: 2, price: 99.75, meta: { sku: 'C-2' } }, { name: 'Setup', count: 1, price: 50, subscription_type_id: null }]);
    expect(form.body.subscription).toMatchObject({ code: parentType.code });
    const codes = await crm.call('GET', '/api/v1/family/list', { token: b.token });
    expect(codes.body.codes).toHaveLength(2);
  });

  it('list items in any index order, and [] lists, read as PHP writes them', async () => {
    const u = await crm.user();
    const body = `email=${encodeURIComponent(u.email)}&subscription_type_id=${plainType.id}&items[1][name]=second&items[1][count]=1&items[0][name]=first&items[0][count]=3&meta[tags]=x`;
    const res = await post('/api/v1/payments/create', body, FORM);
    expect(res.status).toBe(200);
    expect(res.body.payment.items.map((i: { name: string; count: number }) => [i.name, i.count])).toEqual([['first', 3], ['second', 1]]);
  });

  it('the same validation errors from either encoding, and nothing recorded', async () => {
    const u = await crm.user();
    const before = await counts();
    const bad = { ...payment(u.email), items: [{ count: 'many', colour: 'red' }], meta: { 'bad key!': 'x' } };
    const a = await post('/api/v1/payments/create', bad);
    const b = await post('/api/v1/payments/create', formEncode(bad), FORM);
    expect(a.status).toBe(400);
    expect(a.body.message).toBe('Payload error');
    expect(b).toMatchObject({ status: 400, body: a.body });
    const unknownItemType = { ...payment(u.email), items: [{ subscription_type_id: 999999, count: 1 }] };
    const c = await post('/api/v1/payments/create', unknownItemType);
    const d = await post('/api/v1/payments/create', formEncode(unknownItemType), FORM);
    expect(c).toMatchObject({ status: 400, body: { errors: ['items.subscription_type_id: is not a known subscription type'] } });
    expect(d).toMatchObject({ status: 400, body: c.body });
    expect(await counts()).toEqual(before);
  });

  it('an empty body is "Empty request" as JSON and as a form', async () => {
    for (const type of ['application/json', FORM]) {
      const res = await post('/api/v1/payments/create', '', type);
      expect(res).toMatchObject({ status: 400, body: { status: 'error', message: 'Empty request' } });
    }
  });
});

describe('bad bodies are REMP 400s and change nothing', () => {
  const email = 'someone%40example.com';
  const malformed: [string, RegExp][] = [
    [`email=${email}&subscription_type_id=1&subscription_type_id=2`, /"subscription_type_id" is given twice/],
    [`email=${email}&meta=1&meta[a]=2`, /"meta" is both a value and a group/],
    [`email=${email}&meta[a]=1&meta=2`, /"meta\[a\]"|is given twice|both a value and a group/],
    [`email=${email}&items[0][count=1`, /bad field name/],
    [`email=${email}&items]=1`, /bad field name/],
    [`email=${email}&items[][count]=1`, /"\[\]" may only end a field name/],
    [`email=${email}&items[]=1&items[0]=2`, /mixes \[\] with named or numbered fields/],
    [`email=${email}&items[0]=1&items[]=2`, /mixes \[\] with named or numbered fields/],
    [`email=${email}&a[b][c][d][e][f]=1`, /nested deeper than 4 levels/],
    [`email=%E0%A4%A&subscription_type_id=1`, /bad %-escape/],
    [`email=${email}&%ZZ=1`, /bad %-escape/],
  ];

  for (const url of ['/api/v1/payments/create', '/api/v1/subscriptions/create']) {
    it(`${url}: a malformed form is a 400 naming the problem`, async () => {
      const before = await counts();
      for (const [body, message] of malformed) {
        const res = await post(url, body, FORM);
        expect(res.status, body).toBe(400);
        expect(res.body.status).toBe('error');
        expect(res.body.message, body).toMatch(/^Malformed form body: /);
        expect(res.body.message, body).toMatch(message);
      }
      expect(await counts()).toEqual(before);
    });

    it(`${url}: other content types are refused in REMP's format`, async () => {
      const u = await crm.user();
      const before = await counts();
      const json = JSON.stringify({ email: u.email, subscription_type_id: plainType.id, is_paid: true });
      for (const type of ['multipart/form-data; boundary=x', 'application/xml', 'text/csv', 'application/octet-stream']) {
        const res = await post(url, json, type);
        expect(res.status, type).toBe(400);
        expect(res.body).toEqual({ status: 'error', message: `Unsupported Content-Type ${type.split(';')[0]}: send application/json or application/x-www-form-urlencoded` });
      }
      const broken = await post(url, '{"email":', 'application/json');
      expect(broken).toMatchObject({ status: 400, body: { status: 'error', message: 'Malformed JSON' } });
      expect(await counts()).toEqual(before);
    });

    it(`${url}: JSON without a Content-Type, or as text/plain, is read as before`, async () => {
      const u = await crm.user();
      const body = JSON.stringify({ email: u.email, subscription_type_id: plainType.id, ...(url.includes('subscriptions') ? { is_paid: true } : {}) });
      const plain = await post(url, body, 'text/plain');
      expect(plain.status).toBe(200);
      const res = await crm.t.app.server.inject({ method: 'POST', url, headers: { authorization: `Bearer ${api}` }, payload: Buffer.from(body) });
      expect(res.statusCode).toBe(200);
    });

    it(`${url}: a NUL in a form value, and odd field names, are 400s, not 500s`, async () => {
      const before = await counts();
      const nul = await post(url, `email=a%00b%40example.com&subscription_type_id=1&is_paid=1`, FORM);
      expect(nul.status).toBe(400);
      for (const body of ['__proto__[x]=1&email=a%40b.test', 'constructor[prototype][x]=1', 'toString=1', '0=1&1=2', '=1', '&&&']) {
        const res = await post(url, body, FORM);
        expect(res.status, body).toBe(400);
        expect(res.body.status, body).toBe('error');
      }
      expect(({} as Record<string, unknown>).x).toBeUndefined();
      expect(await counts()).toEqual(before);
    });

    it(`${url}: a form does not get past the API token check`, async () => {
      const before = await counts();
      const u = await crm.user();
      const form = `email=${encodeURIComponent(u.email)}&subscription_type_id=${plainType.id}&is_paid=1`;
      const none = await crm.call('POST', url, { body: form, headers: { 'content-type': FORM } });
      expect(none).toMatchObject({ status: 403, body: { status: 'error', error: 'no_authorization' } });
      const other = await crm.apiToken('/api/v1/family/list');
      expect(await post(url, form, FORM, other)).toMatchObject({ status: 403, body: { error: 'no_authorization' } });
      expect(await post(url, form, FORM, u.token)).toMatchObject({ status: 403, body: { error: 'no_authorization' } });
      expect(await counts()).toEqual(before);
    });
  }
});

describe('the documented examples work', () => {
  it('every request example of both endpoints, as JSON and as a form, is accepted by the door', async () => {
    const doc = JSON.parse((await crm.t.app.server.inject({ method: 'GET', url: '/openapi.json' })).body);
    let posted = 0;
    for (const url of ['/api/v1/subscriptions/create', '/api/v1/payments/create']) {
      const content = doc.paths[url].post.requestBody.content;
      expect(Object.keys(content).sort()).toEqual(['application/json', FORM]);
      for (const [type, media] of Object.entries(content) as [string, { examples: Record<string, { value: Record<string, unknown> }> }][]) {
        for (const { value } of Object.values(media.examples)) {
          // The examples name subscription type 1 and boss@company.test: here, a fresh user and the parent type.
          const u = await crm.user();
          const body = JSON.parse(JSON.stringify(value).replaceAll('"boss@company.test"', JSON.stringify(u.email)).replace(/"subscription_type_id":("?)1\1/g, `"subscription_type_id":$1${parentType.id}$1`));
          const res = await post(url, type === FORM ? formEncode(body) : JSON.stringify(body), type);
          expect(res.status, `${url} ${type} ${JSON.stringify(body)}`).toBe(200);
          posted++;
        }
      }
    }
    expect(posted).toBe(8);
  });
});
