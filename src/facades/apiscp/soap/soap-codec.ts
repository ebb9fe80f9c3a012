import { XMLParser } from 'fast-xml-parser';

/**
 * SOAP 1.1 rpc/encoded, as PHP's SoapClient speaks it to ApisCP (see compat/apiscp.md in the planning
 * repository). Transport only: a request becomes (operation, positional args) and a result or a fault
 * becomes an envelope; nothing here knows what the operations do.
 *
 * Values PHP sends and what they become here:
 * - `ns2:Map` (Apache map, PHP associative array) → a plain object. Keys are always strings: an
 *   integer key typed xsd:int (`[7 => 'x']`) becomes `"7"`, and JavaScript enumerates integer-like keys
 *   first, in ascending order, whatever order they arrived in.
 * - `SOAP-ENC:Array` (PHP list) → an array; `SOAP-ENC:Struct` (PHP object) → a plain object.
 * - xsd:string → string; xsd:int/long/integer (and the other integer types) → number, refused beyond
 *   ±(2^53 − 1) rather than silently rounded; xsd:boolean → boolean; xsd:float/double/decimal → number;
 *   `xsi:nil="true"` → null (PHP also sends omitted optional arguments as nil).
 * - `href="#id"` multi-references (PHP's way of sending the same object twice) are followed.
 * Type prefixes are resolved through their namespace declarations, never by their literal spelling.
 *
 * Results go out typed at every level, which is what PHP needs to hand back nested associative arrays
 * instead of stdClass objects and strings: objects → `ns2:Map`, arrays → `SOAP-ENC:Array`, an empty
 * object or array → an empty `SOAP-ENC:Array` (an empty map would reach PHP as NULL), null → nil.
 */

export const NS = {
  envelope: 'http://schemas.xmlsoap.org/soap/envelope/',
  envelope12: 'http://www.w3.org/2003/05/soap-envelope',
  encoding: 'http://schemas.xmlsoap.org/soap/encoding/',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
  apache: 'http://xml.apache.org/xml-soap',
  apnscp: 'urn:apnscp.api.soap',
  xml: 'http://www.w3.org/XML/1998/namespace',
} as const;

export interface SoapCall {
  operation: string;
  args: unknown[];
}

export interface SoapFault {
  /** A QName in the envelope namespace: `SOAP-ENV:Client`, `SOAP-ENV:Server`, … */
  faultcode: string;
  faultstring: string;
  /** Encoded like a result (typed), so PHP's SoapFault->detail gets a string or an array. */
  detail?: unknown;
}

/** A request the codec refuses; the fault says why (Client, VersionMismatch or MustUnderstand). */
export class SoapFaultError extends Error {
  constructor(readonly fault: SoapFault) {
    super(fault.faultstring);
    this.name = 'SoapFaultError';
  }
}

function clientFault(message: string): SoapFaultError {
  return new SoapFaultError({ faultcode: 'SOAP-ENV:Client', faultstring: message });
}

/**
 * A piece of the request as it may appear in a fault or a log: quoted, and cut short, so a hostile
 * name or value of any length costs the answer at most a few dozen characters.
 */
export function quoteInput(text: string, max = 60): string {
  return JSON.stringify(clipInput(text, max));
}

function clipInput(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export interface DecodeOptions {
  /** The SOAPAction header, used for the operation when the Body has no wrapper element. */
  soapAction?: string;
  /** How many values one request may decode to (multi-references can repeat subtrees). */
  maxValues?: number;
  /**
   * How large the decoded arguments may grow, in bytes of text (UTF-8) plus a few per value. Counted
   * while references are followed, so a small body naming one large string many times is refused
   * before the copies exist.
   */
  maxDecodedBytes?: number;
  /** How many `href` references one request may follow (PHP sends one per repeated object). */
  maxReferences?: number;
}

export const DEFAULT_MAX_VALUES = 100_000;
export const DEFAULT_MAX_DECODED_BYTES = 4 * 256 * 1024;
export const DEFAULT_MAX_REFERENCES = 1_000;
/** What a value costs the decoded-size budget besides its text: keeps many empty values from being free. */
const VALUE_OVERHEAD_BYTES = 8;

// ---------------------------------------------------------------------------------------------
// Parsing: fast-xml-parser's ordered tree → namespace-resolved elements with decoded text.
// ---------------------------------------------------------------------------------------------

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded below, by us: the five predefined ones and numeric references only.
  processEntities: false,
  htmlEntities: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 100,
});

interface Element {
  uri: string;
  local: string;
  /** Attributes by `{uri}local` when prefixed, by bare name otherwise; xmlns declarations left out. */
  attrs: Map<string, string>;
  /** prefix → namespace URI in force at this element ('' is the default namespace). */
  scope: Map<string, string>;
  children: (Element | string)[];
}

type OrderedNode = Record<string, unknown>;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** `&lt;` and friends, `&#13;`, `&#x1F600;`. DTD-declared (named) entities do not exist here. */
function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&]*);|&/g, (match, body: string | undefined) => {
    if (body === undefined) throw clientFault('malformed XML: bare "&"');
    if (body[0] === '#') {
      const cp = /^#x[0-9a-fA-F]{1,6}$/.test(body) ? parseInt(body.slice(2), 16) : /^#[0-9]{1,7}$/.test(body) ? parseInt(body.slice(1), 10) : NaN;
      if (!isXmlChar(cp)) throw clientFault(`malformed XML: invalid character reference ${clipInput(match)}`);
      return String.fromCodePoint(cp);
    }
    const named = PREDEFINED[body];
    if (named === undefined) throw clientFault(`malformed XML: undefined entity ${clipInput(match)}`);
    return named;
  });
}

// Characters XML 1.0 does not allow anywhere in a document, including unpaired surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function splitQName(qname: string): [prefix: string, local: string] {
  const colon = qname.indexOf(':');
  return colon < 0 ? ['', qname] : [qname.slice(0, colon), qname.slice(colon + 1)];
}

function resolvePrefix(prefix: string, scope: Map<string, string>, what: string): string {
  if (prefix === 'xml') return NS.xml;
  const uri = scope.get(prefix);
  if (uri === undefined) {
    if (prefix === '') return '';
    throw clientFault(`malformed XML: undeclared namespace prefix ${quoteInput(prefix)} in ${what}`);
  }
  return uri;
}

function toElement(name: string, node: OrderedNode, parentScope: Map<string, string>): Element {
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  let scope = parentScope;
  for (const [attr, value] of Object.entries(rawAttrs)) {
    if (attr === 'xmlns' || attr.startsWith('xmlns:')) {
      if (scope === parentScope) scope = new Map(parentScope);
      scope.set(attr === 'xmlns' ? '' : attr.slice(6), decodeEntities(value));
    }
  }
  const attrs = new Map<string, string>();
  for (const [attr, value] of Object.entries(rawAttrs)) {
    if (attr === 'xmlns' || attr.startsWith('xmlns:')) continue;
    const [prefix, local] = splitQName(attr);
    // Unprefixed attributes belong to no namespace, whatever the default namespace is.
    attrs.set(prefix === '' ? local : `{${resolvePrefix(prefix, scope, `attribute ${quoteInput(attr)}`)}}${local}`, decodeEntities(value));
  }
  const [prefix, local] = splitQName(name);
  const element: Element = { uri: resolvePrefix(prefix, scope, `element ${quoteInput(name)}`), local, attrs, scope, children: [] };
  for (const child of node[name] as OrderedNode[]) {
    if ('#text' in child) element.children.push(decodeEntities(String(child['#text'])));
    else if ('#cdata' in child) {
      for (const part of child['#cdata'] as OrderedNode[]) element.children.push(String(part['#text'] ?? ''));
    } else {
      const childName = Object.keys(child).find((k) => k !== ':@');
      if (childName !== undefined && !childName.startsWith('?') && !childName.startsWith('!')) element.children.push(toElement(childName, child, scope));
    }
  }
  return element;
}

function parseDocument(xml: string): Element {
  if (xml.trim() === '') throw clientFault('empty request: expected a SOAP envelope');
  // SOAP 1.1 §3: a message must not contain a DTD. Refusing it outright rules out entity expansion.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw clientFault('malformed request: SOAP messages must not contain a DTD');
  if (INVALID_XML_CHARS.test(xml)) throw clientFault('malformed XML: the request contains characters XML does not allow');
  let tree: OrderedNode[];
  try {
    tree = parser.parse(xml, true) as OrderedNode[];
  } catch (err) {
    // The parser's messages can quote the document; only their start is kept.
    throw clientFault(`malformed XML: ${(err as Error).message.slice(0, 200)}`);
  }
  const roots = tree.filter((n) => !('#text' in n) && !('#cdata' in n));
  if (roots.length !== 1) throw clientFault('malformed XML: expected exactly one root element');
  const root = roots[0]!;
  const name = Object.keys(root).find((k) => k !== ':@')!;
  return toElement(name, root, new Map());
}

function elementChildren(el: Element): Element[] {
  return el.children.filter((c): c is Element => typeof c !== 'string');
}

function textOf(el: Element): string {
  let text = '';
  for (const c of el.children) if (typeof c === 'string') text += c;
  return text;
}

// ---------------------------------------------------------------------------------------------
// Decoding values
// ---------------------------------------------------------------------------------------------

interface TypeName {
  uri: string;
  local: string;
}

interface DecodeState {
  ids: Map<string, Element>;
  following: Set<Element>;
  values: number;
  maxValues: number;
  bytes: number;
  maxBytes: number;
  references: number;
  maxReferences: number;
}

const XSI_TYPE = `{${NS.xsi}}type`;
const XSI_NIL = `{${NS.xsi}}nil`;
const ENC_ARRAY_TYPE = `{${NS.encoding}}arrayType`;

const INTEGER_TYPES = new Set([
  'int', 'long', 'integer', 'short', 'byte', 'nonNegativeInteger', 'positiveInteger', 'negativeInteger',
  'nonPositiveInteger', 'unsignedLong', 'unsignedInt', 'unsignedShort', 'unsignedByte',
]);
const FLOAT_TYPES = new Set(['float', 'double', 'decimal']);

function resolveTypeName(qname: string, el: Element): TypeName {
  const [prefix, local] = splitQName(qname.trim());
  return { uri: resolvePrefix(prefix, el.scope, `type ${quoteInput(qname)}`), local };
}

/** `xsd:int[3]` → xsd:int; `xsd:ur-type[0]`, `xsd:anyType[2]` and multi-dimensional forms → untyped. */
function arrayItemType(el: Element): TypeName | undefined {
  const arrayType = el.attrs.get(ENC_ARRAY_TYPE);
  if (arrayType === undefined) return undefined;
  const m = /^([^[\]]+)\[\d*\]$/.exec(arrayType.trim());
  if (!m) return undefined;
  const type = resolveTypeName(m[1]!, el);
  return type.uri === NS.xsd && (type.local === 'anyType' || type.local === 'ur-type') ? undefined : type;
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so a key such as "__proto__" is an ordinary property and never a prototype.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function decodeInteger(text: string): number {
  const t = text.trim();
  if (!/^[+-]?[0-9]+$/.test(t)) throw clientFault(`invalid integer: ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(t);
  if (!Number.isSafeInteger(n)) throw clientFault(`integer out of range: ${quoteInput(t)} (the largest accepted is ${Number.MAX_SAFE_INTEGER})`);
  return n === 0 ? 0 : n;
}

function decodeFloat(text: string): number {
  const t = text.trim();
  if (t === 'INF' || t === '+INF') return Infinity;
  if (t === '-INF') return -Infinity;
  if (t === 'NaN') return NaN;
  if (!/^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t)) throw clientFault(`invalid number: ${JSON.stringify(text.slice(0, 40))}`);
  return Number(t);
}

function decodeBoolean(text: string): boolean {
  const t = text.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw clientFault(`invalid boolean: ${JSON.stringify(text.slice(0, 40))}`);
}

/** Charges text to the decoded-size budget before anything is built from it. */
function charge(state: DecodeState, text: string): void {
  // Length first: UTF-8 is never shorter than the UTF-16 length, so this refuses early and cheaply.
  if (state.bytes + text.length > state.maxBytes) throw tooLarge(state);
  state.bytes += Buffer.byteLength(text, 'utf8');
  if (state.bytes > state.maxBytes) throw tooLarge(state);
}

function tooLarge(state: DecodeState): SoapFaultError {
  return clientFault(`request too large: the arguments would decode to more than ${state.maxBytes} bytes`);
}

function decodeScalar(type: TypeName, el: Element, state: DecodeState): unknown {
  const text = textOf(el);
  charge(state, text);
  if (INTEGER_TYPES.has(type.local)) return decodeInteger(text);
  if (FLOAT_TYPES.has(type.local)) return decodeFloat(text);
  if (type.local === 'boolean') return decodeBoolean(text);
  if (type.local === 'base64Binary' || type.local === 'base64') return Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (type.local === 'hexBinary') return Buffer.from(text.trim(), 'hex').toString('utf8');
  // string and every other simple type (dateTime, anyURI, …) travel as their text.
  return text;
}

/** PHP's array-key conversion: integers and strings as they are, true/false → 1/0, null → ''. */
function mapKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number') return String(key);
  if (typeof key === 'boolean') return key ? '1' : '0';
  if (key === null) return '';
  throw clientFault('invalid map key: keys must be strings or integers');
}

function decodeMap(el: Element, state: DecodeState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const item of elementChildren(el)) {
    const parts = elementChildren(item);
    const keyEl = parts.find((p) => p.local === 'key');
    const valueEl = parts.find((p) => p.local === 'value');
    if (!keyEl) throw clientFault('invalid map: an <item> has no <key>');
    setKey(out, mapKey(decodeValue(keyEl, state)), valueEl ? decodeValue(valueEl, state) : null);
  }
  return out;
}

function decodeArray(el: Element, state: DecodeState): unknown[] {
  const itemType = arrayItemType(el);
  return elementChildren(el).map((item) => decodeValue(item, state, itemType));
}

/** SOAP-ENC:Struct (and untyped compound values): members by element name; a repeated name is a list. */
function decodeStruct(el: Element, state: DecodeState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const repeated = new Set<string>();
  for (const member of elementChildren(el)) {
    const value = decodeValue(member, state);
    if (!Object.prototype.hasOwnProperty.call(out, member.local)) setKey(out, member.local, value);
    else if (repeated.has(member.local)) (out[member.local] as unknown[]).push(value);
    else {
      repeated.add(member.local);
      setKey(out, member.local, [out[member.local], value]);
    }
  }
  return out;
}

function decodeUntyped(el: Element, state: DecodeState): unknown {
  if (el.attrs.has(ENC_ARRAY_TYPE)) return decodeArray(el, state);
  if (elementChildren(el).length > 0) return decodeStruct(el, state);
  const text = textOf(el);
  charge(state, text);
  return text;
}

function decodeValue(el: Element, state: DecodeState, inheritedType?: TypeName): unknown {
  if (++state.values > state.maxValues) throw clientFault(`request too large: more than ${state.maxValues} values`);
  state.bytes += VALUE_OVERHEAD_BYTES;
  if (state.bytes > state.maxBytes) throw tooLarge(state);

  const href = el.attrs.get('href');
  if (href !== undefined) {
    if (++state.references > state.maxReferences) throw clientFault(`request too large: more than ${state.maxReferences} references`);
    const target = href.startsWith('#') ? state.ids.get(href.slice(1)) : undefined;
    if (!target) throw clientFault(`unresolved reference ${quoteInput(href)}`);
    if (state.following.has(target)) throw clientFault('cyclic reference in request');
    state.following.add(target);
    try {
      return decodeValue(target, state, inheritedType);
    } finally {
      state.following.delete(target);
    }
  }

  const nil = el.attrs.get(XSI_NIL)?.trim();
  if (nil === 'true' || nil === '1') return null;

  const declared = el.attrs.get(XSI_TYPE);
  const type = declared !== undefined ? resolveTypeName(declared, el) : inheritedType;
  if (!type) return decodeUntyped(el, state);
  if (type.uri === NS.apache && type.local === 'Map') return decodeMap(el, state);
  if (type.uri === NS.encoding && type.local === 'Array') return decodeArray(el, state);
  if (type.uri === NS.encoding && type.local === 'Struct') return decodeStruct(el, state);
  // SOAP-ENC also defines every simple type (SOAP-ENC:string, SOAP-ENC:int, …) with the same meaning.
  if ((type.uri === NS.xsd || type.uri === NS.encoding) && type.local !== 'anyType' && type.local !== 'ur-type') return decodeScalar(type, el, state);
  return decodeUntyped(el, state);
}

function collectIds(el: Element, ids: Map<string, Element>): void {
  const id = el.attrs.get('id');
  if (id !== undefined) ids.set(id, el);
  for (const child of elementChildren(el)) collectIds(child, ids);
}

/** `"urn:apnscp.api.soap#admin_collect"` → `admin_collect` (also the last path segment of a URL form). */
export function operationFromSoapAction(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const action = header.trim().replace(/^"(.*)"$/, '$1').trim();
  const hash = action.lastIndexOf('#');
  const name = hash >= 0 ? action.slice(hash + 1) : action.slice(action.lastIndexOf('/') + 1);
  return name === '' ? undefined : name;
}

/**
 * Decodes a request envelope. Throws SoapFaultError (never anything else for bad input): Client for
 * malformed XML, a DTD, a document that is not an envelope, no Body or no operation; VersionMismatch
 * for an envelope in another namespace; MustUnderstand for a mandatory header.
 */
export function decodeSoapRequest(xml: string, options: DecodeOptions = {}): SoapCall {
  const root = parseDocument(xml);
  if (root.local !== 'Envelope') throw clientFault(`not a SOAP envelope: root element is ${quoteInput(root.local)}`);
  if (root.uri !== NS.envelope && root.uri !== NS.envelope12) {
    throw new SoapFaultError({ faultcode: 'SOAP-ENV:VersionMismatch', faultstring: `unsupported envelope namespace ${quoteInput(root.uri)}` });
  }
  const envUri = root.uri;
  const parts = elementChildren(root);
  const header = parts.find((p) => p.uri === envUri && p.local === 'Header');
  const body = parts.find((p) => p.uri === envUri && p.local === 'Body');
  if (!body) throw clientFault('malformed request: the envelope has no Body');

  for (const entry of header ? elementChildren(header) : []) {
    const must = entry.attrs.get(`{${envUri}}mustUnderstand`)?.trim();
    if (must === '1' || must === 'true') {
      throw new SoapFaultError({ faultcode: 'SOAP-ENV:MustUnderstand', faultstring: `header <${entry.local.slice(0, 60)}> was not understood` });
    }
  }

  const wrapper = elementChildren(body)[0];
  if (!wrapper) {
    const operation = operationFromSoapAction(options.soapAction);
    if (operation === undefined) throw clientFault('malformed request: the Body names no operation');
    return { operation, args: [] };
  }
  const ids = new Map<string, Element>();
  collectIds(body, ids);
  const state: DecodeState = {
    ids,
    following: new Set(),
    values: 0,
    maxValues: options.maxValues ?? DEFAULT_MAX_VALUES,
    bytes: 0,
    maxBytes: options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES,
    references: 0,
    maxReferences: options.maxReferences ?? DEFAULT_MAX_REFERENCES,
  };
  return { operation: wrapper.local, args: elementChildren(wrapper).map((arg) => decodeValue(arg, state)) };
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${NS.envelope}" xmlns:ns1="${NS.apnscp}" xmlns:xsd="${NS.xsd}" xmlns:xsi="${NS.xsi}"` +
  ` xmlns:SOAP-ENC="${NS.encoding}" xmlns:ns2="${NS.apache}" SOAP-ENV:encodingStyle="${NS.encoding}"><SOAP-ENV:Body>`;
const ENVELOPE_CLOSE = '</SOAP-ENV:Body></SOAP-ENV:Envelope>\n';

const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Element text: `\r` must be a reference or the receiving parser turns `\r\n` into `\n`. */
function escapeText(text: string): string {
  return text.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

const INT_KEY = /^(0|-?[1-9][0-9]{0,15})$/;

type Writer = string[];

function typeNameOf(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  switch (typeof value) {
    case 'string':
      return INVALID_XML_CHARS.test(value) ? 'xsd:base64Binary' : 'xsd:string';
    case 'number':
      return Number.isSafeInteger(value) ? 'xsd:int' : 'xsd:double';
    case 'bigint':
      return 'xsd:int';
    case 'boolean':
      return 'xsd:boolean';
    case 'object':
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : 'xsd:dateTime';
      if (value instanceof Uint8Array) return 'xsd:base64Binary';
      if (Array.isArray(value) || value instanceof Set) return 'SOAP-ENC:Array';
      if (value instanceof Map) return value.size > 0 ? 'ns2:Map' : 'SOAP-ENC:Array';
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
      return Object.keys(value).length > 0 ? 'ns2:Map' : 'SOAP-ENC:Array';
    default:
      return undefined;
  }
}

function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'INF';
  if (n === -Infinity) return '-INF';
  return String(n);
}

function writeArray(out: Writer, name: string, items: unknown[], seen: Set<object>): void {
  // Like PHP: the item type when every item has the same one, anyType otherwise.
  const types = new Set(items.map((item) => typeNameOf(item)));
  const only = types.size === 1 ? [...types][0] : undefined;
  const itemType = only ?? 'xsd:anyType';
  if (items.length === 0) {
    out.push(`<${name} xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="xsd:anyType[0]"/>`);
    return;
  }
  out.push(`<${name} xsi:type="SOAP-ENC:Array" SOAP-ENC:arrayType="${itemType}[${items.length}]">`);
  for (const item of items) writeValue(out, 'item', item === undefined || typeof item === 'function' || typeof item === 'symbol' ? null : item, seen);
  out.push(`</${name}>`);
}

function writeMap(out: Writer, name: string, entries: [string, unknown][], seen: Set<object>): void {
  if (entries.length === 0) {
    writeArray(out, name, [], seen);
    return;
  }
  out.push(`<${name} xsi:type="ns2:Map">`);
  for (const [key, value] of entries) {
    out.push('<item>');
    if (INT_KEY.test(key) && Number.isSafeInteger(Number(key))) out.push(`<key xsi:type="xsd:int">${key}</key>`);
    else writeValue(out, 'key', key, seen);
    writeValue(out, 'value', value, seen);
    out.push('</item>');
  }
  out.push(`</${name}>`);
}

function writeValue(out: Writer, name: string, value: unknown, seen: Set<object>): void {
  if (value === null || value === undefined) {
    out.push(`<${name} xsi:nil="true"/>`);
    return;
  }
  switch (typeof value) {
    case 'string':
      if (INVALID_XML_CHARS.test(value)) {
        // XML cannot carry these characters at all; PHP decodes base64Binary into the same string.
        out.push(`<${name} xsi:type="xsd:base64Binary">${Buffer.from(value, 'utf8').toString('base64')}</${name}>`);
      } else out.push(`<${name} xsi:type="xsd:string">${escapeText(value)}</${name}>`);
      return;
    case 'number':
      if (Number.isSafeInteger(value)) out.push(`<${name} xsi:type="xsd:int">${value === 0 ? 0 : value}</${name}>`);
      else out.push(`<${name} xsi:type="xsd:double">${formatDouble(value)}</${name}>`);
      return;
    case 'bigint':
      out.push(`<${name} xsi:type="xsd:int">${value.toString()}</${name}>`);
      return;
    case 'boolean':
      out.push(`<${name} xsi:type="xsd:boolean">${value ? 'true' : 'false'}</${name}>`);
      return;
    case 'object':
      break;
    default: // functions and symbols have no wire form
      out.push(`<${name} xsi:nil="true"/>`);
      return;
  }

  const obj = value as object;
  if (obj instanceof Date) {
    if (Number.isNaN(obj.getTime())) out.push(`<${name} xsi:nil="true"/>`);
    else out.push(`<${name} xsi:type="xsd:dateTime">${obj.toISOString()}</${name}>`);
    return;
  }
  if (obj instanceof Uint8Array) {
    out.push(`<${name} xsi:type="xsd:base64Binary">${Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64')}</${name}>`);
    return;
  }
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const json = (toJSON as () => unknown).call(obj);
    if (json !== obj) {
      writeValue(out, name, json, seen);
      return;
    }
  }
  if (seen.has(obj)) throw new Error('cannot encode a cyclic value as SOAP');
  seen.add(obj);
  if (Array.isArray(obj)) writeArray(out, name, Array.from(obj), seen);
  else if (obj instanceof Set) writeArray(out, name, [...obj], seen);
  else if (obj instanceof Map) writeMap(out, name, [...obj].map(([k, v]) => [String(k), v] as [string, unknown]), seen);
  else {
    // Like JSON: properties that are undefined, functions or symbols are left out.
    const entries = Object.entries(obj).filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol');
    writeMap(out, name, entries, seen);
  }
  seen.delete(obj);
}

/** One typed element, e.g. `<return xsi:type="ns2:Map">…</return>`, without an envelope. */
export function encodeSoapValue(name: string, value: unknown): string {
  if (!NCNAME.test(name)) throw new Error(`invalid element name: ${JSON.stringify(name)}`);
  const out: Writer = [];
  writeValue(out, name, value, new Set());
  return out.join('');
}

/** The response envelope of `operation`: `<ns1:{operation}Response><return …/></ns1:…>`. */
export function encodeSoapResponse(operation: string, result: unknown): string {
  if (!NCNAME.test(operation)) throw new Error(`invalid SOAP operation name: ${JSON.stringify(operation)}`);
  return `${ENVELOPE_OPEN}<ns1:${operation}Response>${encodeSoapValue('return', result)}</ns1:${operation}Response>${ENVELOPE_CLOSE}`;
}

/** A request envelope as PHP's SoapClient would build it (positional parameters named by `params`). */
export function encodeSoapRequest(operation: string, args: readonly unknown[], params?: readonly string[]): string {
  if (!NCNAME.test(operation)) throw new Error(`invalid SOAP operation name: ${JSON.stringify(operation)}`);
  const parts = args.map((arg, i) => encodeSoapValue(params?.[i] ?? `param${i}`, arg)).join('');
  return `${ENVELOPE_OPEN}<ns1:${operation}>${parts}</ns1:${operation}>${ENVELOPE_CLOSE}`;
}

/** A fault envelope. The faultcode is sent exactly as given (PHP exposes it verbatim). */
export function encodeSoapFault(fault: SoapFault): string {
  const text = (s: string) => escapeText(s.replace(new RegExp(INVALID_XML_CHARS.source, 'g'), '\uFFFD'));
  const detail = fault.detail === undefined ? '' : encodeSoapValue('detail', fault.detail);
  return (
    `${ENVELOPE_OPEN}<SOAP-ENV:Fault><faultcode>${text(fault.faultcode)}</faultcode>` +
    `<faultstring>${text(fault.faultstring)}</faultstring>${detail}</SOAP-ENV:Fault>${ENVELOPE_CLOSE}`
  );
}
