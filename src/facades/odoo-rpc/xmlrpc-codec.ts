import { XMLParser } from 'fast-xml-parser';
import { AppError } from '../../errors/app-error.js';

/**
 * XML-RPC as Odoo's clients speak it (Python's xmlrpc.client, the npm `xmlrpc` package under
 * odoo-await and odoo-xmlrpc-ts). Transport only: a request body becomes (method, params) and a result
 * or a fault becomes a methodResponse; nothing here knows what the methods do. See ADR 6.
 *
 * Decoding (what a caller may send → what the dispatcher gets):
 * - `<i4>`, `<int>`, `<i8>` (and Python's `<i1>`, `<i2>`, `<biginteger>`) → number; refused beyond
 *   ±(2^53 − 1) rather than silently rounded.
 * - `<boolean>` 0/1 → boolean; `<double>` (also `<float>`, `<bigdecimal>`) → number, `inf`/`nan` included.
 * - `<string>` and a bare `<value>text</value>` → string, whitespace kept as sent; CDATA allowed.
 * - `<dateTime.iso8601>` (`20240102T03:04:05`, dashes, fractions and offsets allowed) → Date, read as UTC
 *   when no offset is given (Odoo keeps UTC).
 * - `<base64>` → Buffer; `<nil/>` → null; `<array>` → array (`<data/>` or none → []);
 *   `<struct>` → plain object (`<struct/>` → {}), a key such as `__proto__` staying an ordinary key.
 * - Whitespace between elements (Python puts newlines everywhere) is ignored; element names may carry a
 *   namespace prefix (`ex:nil`, `ex:i8` from Apache clients).
 * Refused with a `malformed_request` AppError (fault 1 on the wire): anything that is not well-formed
 * XML, a DTD or entity declaration (no entity expansion ever happens: only the five predefined
 * entities and character references are decoded), characters XML forbids, a root other than
 * `<methodCall>`, unknown types, and containers nested deeper than `maxDepth` (64 by default).
 *
 * Encoding (what the dispatcher returns → what the caller gets), shaped like Odoo's own marshaller:
 * - null and undefined → `<boolean>0</boolean>` (Odoo answers False where Python has None: it never
 *   sends `<nil/>`, which clients without allow_none refuse); undefined struct members are left out.
 * - safe integers (and bigints) → `<int>` with every digit: Python's client and the npm `xmlrpc`
 *   package both read `<int>` of any length, while npm `xmlrpc` turns `<i8>` into a string.
 * - other numbers → `<double>` (`inf`, `-inf`, `nan` for the non-finite ones, as Python writes them).
 * - strings → `<string>`, with the control characters XML cannot carry removed (as Odoo does) and
 *   carriage returns written as `&#13;` so they survive line-end normalisation.
 * - Date → `<string>YYYY-MM-DD HH:MM:SS</string>` in UTC, Odoo's datetime wire format.
 * - Buffer / Uint8Array → `<base64>`; arrays → `<array>`; plain objects and Maps → `<struct>`.
 */

export const DEFAULT_MAX_DEPTH = 64;

export interface XmlRpcCall {
  method: string;
  params: unknown[];
}

export interface XmlRpcFaultValue {
  /** An int on the `/xmlrpc/2/` endpoints; Odoo's legacy endpoints send a string. */
  faultCode: number | string;
  faultString: string;
}

export interface DecodeOptions {
  /** How many arrays/structs may nest inside one parameter. */
  maxDepth?: number;
}

function malformed(message: string): AppError {
  return new AppError('malformed_request', message);
}

// ---------------------------------------------------------------------------------------------
// Parsing: fast-xml-parser's ordered tree → elements with decoded text.
// ---------------------------------------------------------------------------------------------

interface Element {
  name: string;
  children: (Element | string)[];
}

type OrderedNode = Record<string, unknown>;

/** Above what a request within maxDepth needs (3 tags per container level plus the envelope). */
function parserFor(maxDepth: number): XMLParser {
  return new XMLParser({
    preserveOrder: true,
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: false,
    // Entities are decoded below, by us: the five predefined ones and numeric references only.
    processEntities: false,
    htmlEntities: false,
    cdataPropName: '#cdata',
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: 3 * maxDepth + 16,
  });
}

const parsers = new Map<number, XMLParser>();

function parserOf(maxDepth: number): XMLParser {
  let parser = parsers.get(maxDepth);
  if (!parser) {
    parser = parserFor(maxDepth);
    parsers.set(maxDepth, parser);
  }
  return parser;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** `&lt;` and friends, `&#13;`, `&#x1F600;`. Named entities from a DTD do not exist here. */
function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&]*);|&/g, (match, body: string | undefined) => {
    if (body === undefined) throw malformed('malformed XML: bare "&"');
    if (body[0] === '#') {
      const cp = /^#x[0-9a-fA-F]{1,6}$/.test(body) ? parseInt(body.slice(2), 16) : /^#[0-9]{1,7}$/.test(body) ? parseInt(body.slice(1), 10) : NaN;
      if (!isXmlChar(cp)) throw malformed(`malformed XML: invalid character reference ${match}`);
      return String.fromCodePoint(cp);
    }
    const named = PREDEFINED[body];
    if (named === undefined) throw malformed(`malformed XML: undefined entity ${match.slice(0, 40)}`);
    return named;
  });
}

// Characters XML 1.0 does not allow anywhere in a document, including unpaired surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function toElement(name: string, node: OrderedNode): Element {
  const element: Element = { name, children: [] };
  for (const child of node[name] as OrderedNode[]) {
    if ('#text' in child) element.children.push(decodeEntities(String(child['#text'])));
    else if ('#cdata' in child) {
      for (const part of child['#cdata'] as OrderedNode[]) element.children.push(String(part['#text'] ?? ''));
    } else {
      const childName = Object.keys(child).find((k) => k !== ':@');
      if (childName !== undefined && !childName.startsWith('?') && !childName.startsWith('!')) element.children.push(toElement(childName, child));
    }
  }
  return element;
}

function parseDocument(xml: string, maxDepth: number): Element {
  if (xml.trim() === '') throw malformed('empty request: expected an XML-RPC <methodCall>');
  // XML-RPC has no use for a DTD; refusing one outright rules out entity expansion of any kind.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw malformed('malformed request: XML-RPC requests must not contain a DTD');
  if (INVALID_XML_CHARS.test(xml)) throw malformed('malformed XML: the request contains characters XML does not allow');
  let tree: OrderedNode[];
  try {
    tree = parserOf(maxDepth).parse(xml, true) as OrderedNode[];
  } catch (err) {
    const message = (err as Error).message;
    if (/nested tags/i.test(message)) throw malformed(`malformed request: values nested deeper than ${maxDepth} levels`);
    throw malformed(`malformed XML: ${message}`);
  }
  const roots = tree.filter((n) => !('#text' in n) && !('#cdata' in n));
  if (roots.length !== 1) throw malformed('malformed XML: expected exactly one root element');
  const root = roots[0]!;
  const name = Object.keys(root).find((k) => k !== ':@')!;
  return toElement(name, root);
}

/** `ex:nil` → `nil`: Apache clients prefix their extension types. */
function localName(el: Element): string {
  const colon = el.name.indexOf(':');
  return colon < 0 ? el.name : el.name.slice(colon + 1);
}

function textOf(el: Element): string {
  let text = '';
  for (const c of el.children) {
    if (typeof c !== 'string') throw malformed(`malformed request: <${el.name}> must not contain <${c.name}>`);
    text += c;
  }
  return text;
}

/** The element children, refusing text other than whitespace between them. */
function elementsOf(el: Element): Element[] {
  const out: Element[] = [];
  for (const c of el.children) {
    if (typeof c !== 'string') out.push(c);
    else if (c.trim() !== '') throw malformed(`malformed request: unexpected text in <${el.name}>: ${JSON.stringify(c.trim().slice(0, 40))}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding values
// ---------------------------------------------------------------------------------------------

const INTEGER_TYPES = new Set(['i1', 'i2', 'i4', 'i8', 'int', 'biginteger']);
const FLOAT_TYPES = new Set(['double', 'float', 'bigdecimal']);

function decodeInteger(text: string): number {
  const t = text.trim();
  if (!/^[+-]?[0-9]+$/.test(t)) throw malformed(`invalid integer: ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw malformed(`integer out of range: ${t.slice(0, 40)} (the largest accepted is ${Number.MAX_SAFE_INTEGER})`);
  return n === 0 ? 0 : n;
}

function decodeBoolean(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === '1' || t === 'true') return true;
  if (t === '0' || t === 'false') return false;
  throw malformed(`invalid boolean: ${JSON.stringify(text.slice(0, 40))} (expected 0 or 1)`);
}

function decodeDouble(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan') return NaN;
  if (!/^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(e[+-]?[0-9]+)?$/.test(t)) throw malformed(`invalid double: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(t);
}

const DATE_TIME = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$/i;

function decodeDateTime(text: string): Date {
  const m = DATE_TIME.exec(text.trim());
  if (!m) throw malformed(`invalid dateTime.iso8601: ${JSON.stringify(text.slice(0, 40))}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  let time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const date = new Date(time);
  // Date.UTC rolls 2024-02-31 over into March; a real calendar date comes back unchanged.
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw malformed(`invalid dateTime.iso8601: ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    time -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return new Date(time);
}

function decodeBase64(text: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) throw malformed('invalid base64 value');
  return Buffer.from(compact, 'base64');
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so a key such as "__proto__" is an ordinary property and never a prototype.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function decodeValue(value: Element, depth: number, maxDepth: number): unknown {
  const typed = value.children.filter((c): c is Element => typeof c !== 'string');
  // A <value> without a type element is a string, its text taken exactly as sent.
  if (typed.length === 0) return textOf(value);
  const [el] = elementsOf(value);
  if (typed.length > 1 || !el) throw malformed('malformed request: a <value> holds exactly one typed element');
  const type = localName(el);
  if (INTEGER_TYPES.has(type)) return decodeInteger(textOf(el));
  if (FLOAT_TYPES.has(type)) return decodeDouble(textOf(el));
  switch (type) {
    case 'string':
      return textOf(el);
    case 'boolean':
      return decodeBoolean(textOf(el));
    case 'dateTime.iso8601':
      return decodeDateTime(textOf(el));
    case 'base64':
      return decodeBase64(textOf(el));
    case 'nil':
      if (textOf(el).trim() !== '') throw malformed('malformed request: <nil/> must be empty');
      return null;
    case 'array': {
      if (depth >= maxDepth) throw malformed(`malformed request: values nested deeper than ${maxDepth} levels`);
      const data = elementsOf(el);
      if (data.length === 0) return [];
      if (data.length > 1 || localName(data[0]!) !== 'data') throw malformed('malformed request: <array> holds exactly one <data>');
      return elementsOf(data[0]!).map((item) => {
        if (localName(item) !== 'value') throw malformed(`malformed request: <data> holds <value> elements, not <${item.name}>`);
        return decodeValue(item, depth + 1, maxDepth);
      });
    }
    case 'struct': {
      if (depth >= maxDepth) throw malformed(`malformed request: values nested deeper than ${maxDepth} levels`);
      const out: Record<string, unknown> = {};
      for (const member of elementsOf(el)) {
        if (localName(member) !== 'member') throw malformed(`malformed request: <struct> holds <member> elements, not <${member.name}>`);
        const parts = elementsOf(member);
        const name = parts.filter((p) => localName(p) === 'name');
        const val = parts.filter((p) => localName(p) === 'value');
        if (name.length !== 1 || val.length !== 1 || parts.length !== 2) throw malformed('malformed request: a <member> holds one <name> and one <value>');
        setKey(out, textOf(name[0]!), decodeValue(val[0]!, depth + 1, maxDepth));
      }
      return out;
    }
    default:
      throw malformed(`malformed request: unknown XML-RPC type <${el.name.slice(0, 40)}>`);
  }
}

/** A request body → the method name and its positional parameters. Throws `malformed_request`. */
export function decodeMethodCall(xml: string, opts: DecodeOptions = {}): XmlRpcCall {
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  const root = parseDocument(xml, maxDepth);
  if (localName(root) !== 'methodCall') throw malformed(`malformed request: expected <methodCall> as the root element, got <${root.name.slice(0, 40)}>`);
  let method: string | undefined;
  let params: unknown[] = [];
  let sawParams = false;
  for (const el of elementsOf(root)) {
    const name = localName(el);
    if (name === 'methodName' && method === undefined) method = textOf(el).trim();
    else if (name === 'params' && !sawParams) {
      sawParams = true;
      params = elementsOf(el).map((param) => {
        if (localName(param) !== 'param') throw malformed(`malformed request: <params> holds <param> elements, not <${param.name}>`);
        const values = elementsOf(param);
        if (values.length !== 1 || localName(values[0]!) !== 'value') throw malformed('malformed request: a <param> holds exactly one <value>');
        return decodeValue(values[0]!, 0, maxDepth);
      });
    } else throw malformed(`malformed request: unexpected <${el.name.slice(0, 40)}> in <methodCall>`);
  }
  if (!method) throw malformed('malformed request: <methodCall> has no <methodName>');
  if (method.length > 256) throw malformed('malformed request: method name too long');
  return { method, params };
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** How deep a result may nest before encoding gives up (a cycle, or a bug in the dispatcher). */
const MAX_RESULT_DEPTH = 256;

// Control characters other than tab, newline and carriage return, U+FFFE/U+FFFF: XML cannot carry
// them, so they are dropped, as Odoo's marshaller does. Lone surrogates become U+FFFD.
// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const UNSENDABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeText(text: string): string {
  return text
    .replace(UNSENDABLE, '')
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

/** Odoo's datetime wire format: `YYYY-MM-DD HH:MM:SS`, UTC. */
export function odooDateTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

function encodeNumber(n: number): string {
  if (Number.isSafeInteger(n)) return `<int>${n === 0 ? 0 : n}</int>`;
  if (Number.isNaN(n)) return '<double>nan</double>';
  if (n === Infinity) return '<double>inf</double>';
  if (n === -Infinity) return '<double>-inf</double>';
  return `<double>${String(n)}</double>`;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === null || proto === Object.prototype;
}

function encodeStruct(entries: Iterable<[string, unknown]>, out: string[], depth: number): void {
  out.push('<struct>');
  for (const [key, item] of entries) {
    if (item === undefined) continue;
    out.push(`<member><name>${escapeText(key)}</name>`);
    encodeValue(item, out, depth + 1);
    out.push('</member>');
  }
  out.push('</struct>');
}

function encodeValue(value: unknown, out: string[], depth: number): void {
  if (depth > MAX_RESULT_DEPTH) throw new Error(`result nested deeper than ${MAX_RESULT_DEPTH} levels (a cycle?)`);
  out.push('<value>');
  switch (typeof value) {
    case 'undefined':
      out.push('<boolean>0</boolean>');
      break;
    case 'boolean':
      out.push(`<boolean>${value ? 1 : 0}</boolean>`);
      break;
    case 'number':
      out.push(encodeNumber(value));
      break;
    case 'bigint':
      out.push(`<int>${value.toString()}</int>`);
      break;
    case 'string':
      out.push(`<string>${escapeText(value)}</string>`);
      break;
    case 'object':
      if (value === null) out.push('<boolean>0</boolean>');
      else if (value instanceof Date) out.push(Number.isNaN(value.getTime()) ? '<boolean>0</boolean>' : `<string>${odooDateTime(value)}</string>`);
      else if (value instanceof Uint8Array) out.push(`<base64>${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}</base64>`);
      else if (Array.isArray(value)) {
        out.push('<array><data>');
        for (const item of value as unknown[]) encodeValue(item, out, depth + 1);
        out.push('</data></array>');
      } else if (value instanceof Map) {
        encodeStruct([...(value as Map<unknown, unknown>)].map(([k, v]) => [String(k), v]), out, depth);
      } else if (isPlainObject(value)) encodeStruct(Object.entries(value), out, depth);
      else throw new Error(`cannot encode a ${value.constructor?.name ?? 'object'} as XML-RPC`);
      break;
    default:
      throw new Error(`cannot encode a ${typeof value} as XML-RPC`);
  }
  out.push('</value>');
}

const HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A successful result → methodResponse. Throws (an internal error) for values XML-RPC cannot carry. */
export function encodeMethodResponse(result: unknown): string {
  const out: string[] = [HEADER, '<methodResponse><params><param>'];
  encodeValue(result, out, 0);
  out.push('</param></params></methodResponse>\n');
  return out.join('');
}

export function encodeFault(fault: XmlRpcFaultValue): string {
  const out: string[] = [HEADER, '<methodResponse><fault>'];
  encodeValue({ faultCode: fault.faultCode, faultString: fault.faultString }, out, 0);
  out.push('</fault></methodResponse>\n');
  return out.join('');
}

// ---------------------------------------------------------------------------------------------
// Request bytes → text
// ---------------------------------------------------------------------------------------------

/**
 * The body's bytes as text: UTF-8 unless the XML declaration names another encoding that the
 * platform decodes (Python's client declares one when it was given a non-UTF-8 encoding). Invalid
 * byte sequences are refused, not replaced.
 */
export function decodeXmlBytes(body: Buffer): string {
  const head = body.subarray(0, 200).toString('latin1');
  const declared = /^(?:\uFEFF|\xEF\xBB\xBF)?\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1];
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(declared ?? 'utf-8', { fatal: true });
  } catch {
    throw malformed(`malformed request: unsupported encoding ${JSON.stringify(declared)}`);
  }
  try {
    return decoder.decode(body);
  } catch {
    throw malformed(`malformed request: the body is not valid ${decoder.encoding}`);
  }
}
