/**
 * ApisCP's "cli" input syntax: how `cpcmd module:function ARG...` reads each positional argument
 * (`cpcmd admin:collect '[siteinfo.domain,ssh.enabled]' '[billing:[parent_invoice:X]]'`).
 *
 * One argument is either a bracket group or a scalar:
 * - `[a,b,c]` is a list, `[k:v,k2:v2]` a map; a group is a map when its first element is a
 *   `key:value` pair, and every other element must then agree (mixing is an error). Groups nest.
 *   `[]` is an empty list. `[:]` is an empty map: our extension, because PHP has one array type and
 *   never needed it, while we must keep `{}` and `[]` apart so formatting round-trips.
 * - In an element, the first unquoted `:` splits key from value; a value's unquoted text runs to the
 *   next `,` or `]`, so it may hold more colons (`[url:http://x]` is `{url: 'http://x'}`). A key is
 *   always text (`[1:a]` has the key `'1'`).
 * - Unquoted text is trimmed and may contain spaces, dots, `@`, `/`, `-` and quote characters after
 *   its first character. Bare `null`, `true`, `false` (lower case only) and numbers matching
 *   `-?(0|[1-9][0-9]*)(\.[0-9]+)?` are converted; anything else (`007`, `1e5`, `+1`, `NULL`) stays text.
 *   Integers beyond 2^53 stay text so long invoice numbers are never rounded.
 * - `"..."` or `'...'` quote text verbatim (keeping it text even when it reads `5000` or `null`);
 *   inside, a backslash escapes the quote character or a backslash, and is kept before anything else
 *   (`"C:\dir"`), as in a PHP single-quoted string.
 * - A top-level argument that does not start with `[` or a quote is one scalar, commas and colons
 *   included (`30 days`, `http://x`); an empty argument is the empty string. An empty element
 *   (`[a,,b]`, `[a:]`) is an error: write `""`.
 * - Duplicate keys keep the first position and the last value, as PHP arrays do.
 */

export type CliValue = string | number | boolean | null | CliValue[] | { [key: string]: CliValue };
type CliMap = { [key: string]: CliValue };

/** Every malformed argument fails with this, naming the 1-based column and what was expected. */
export class CliSyntaxError extends Error {
  override readonly name = 'CliSyntaxError';
  constructor(
    readonly problem: string,
    readonly column: number,
  ) {
    super(`invalid cli argument at column ${column}: ${problem}`);
  }
}

/** Deep enough for any real option map, shallow enough that recursion can never overflow the stack. */
const MAX_DEPTH = 100;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const SPACE = /\s/;
/** Unquoted key or list element text ends at these; a map value's text may also contain `:`. */
const KEY_STOPS = ',:[]';
const VALUE_STOPS = ',[]';

type Entry = { kind: 'item'; value: CliValue } | { kind: 'pair'; key: string; value: CliValue };
/** An element's first part, before we know whether a `:` makes it a key (bare text is unconverted). */
type Head = { kind: 'group'; value: CliValue } | { kind: 'quoted' | 'bare'; text: string };

export function parseCliArgument(text: string): CliValue {
  return new Parser(text).argument();
}

/** Converts bare (unquoted, trimmed) text to null, a boolean or a number when it reads as one. */
function scalarOf(text: string): CliValue {
  if (text === 'null') return null;
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (NUMBER.test(text)) {
    const n = Number(text);
    const exact = text.includes('.') ? Number.isFinite(n) : Number.isSafeInteger(n);
    if (exact) return n;
  }
  return text;
}

/** Sets an own property even for `__proto__`, which plain assignment would turn into a prototype change. */
function setEntry(map: CliMap, key: string, value: CliValue): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

function collect(entries: Entry[]): CliValue {
  if (entries[0]?.kind !== 'pair') return entries.map((e) => e.value);
  const map: CliMap = {};
  for (const e of entries) if (e.kind === 'pair') setEntry(map, e.key, e.value);
  return map;
}

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  argument(): CliValue {
    this.skipSpace();
    const value = this.topValue();
    this.skipSpace();
    if (!this.atEnd()) this.fail('expected the end of the argument');
    return value;
  }

  private topValue(): CliValue {
    const c = this.peek();
    if (c === '[') return this.group(1);
    if (c === '"' || c === "'") return this.quoted();
    // A bare top-level argument is one scalar, so `30 days` or `a,b` need no quotes on the shell.
    const rest = this.text.slice(this.pos).trimEnd();
    this.pos = this.text.length;
    return scalarOf(rest);
  }

  private group(depth: number): CliValue {
    const open = this.pos;
    if (depth > MAX_DEPTH) this.fail(`groups nested deeper than ${MAX_DEPTH} levels`);
    this.pos++;
    this.skipSpace();
    if (this.eat(']')) return [];
    if (this.emptyMap()) return {};
    const entries: Entry[] = [];
    for (;;) {
      entries.push(this.entry(depth, entries[0]?.kind));
      this.skipSpace();
      if (this.eat(']')) return collect(entries);
      if (this.atEnd()) this.fail(`expected ',' or ']' to close the '[' at column ${open + 1}`);
      if (!this.eat(',')) this.fail("expected ',' or ']' after an element");
    }
  }

  /** `[:]`, with optional spaces; the caller has already consumed `[` and spaces. */
  private emptyMap(): boolean {
    const start = this.pos;
    if (this.eat(':')) {
      this.skipSpace();
      if (this.eat(']')) return true;
    }
    this.pos = start;
    return false;
  }

  private entry(depth: number, mode: Entry['kind'] | undefined): Entry {
    this.skipSpace();
    const start = this.pos;
    const head = this.head(depth);
    this.skipSpace();
    const kind = this.peek() === ':' ? 'pair' : 'item';
    if (mode === 'pair' && kind === 'item') {
      this.failAt(start, "expected 'key:value': this group is a map because its first element is a pair");
    }
    if (mode === 'item' && kind === 'pair') {
      this.fail("unexpected ':': this group is a list because its first element has no key (quote text containing ':')");
    }
    if (kind === 'item') return { kind, value: head.kind === 'group' ? head.value : this.headScalar(head) };
    if (head.kind === 'group') this.failAt(start, 'a map key must be text, not a [...] group');
    this.pos++;
    return { kind, key: head.text, value: this.mapValue(depth) };
  }

  private headScalar(head: Exclude<Head, { kind: 'group' }>): CliValue {
    return head.kind === 'quoted' ? head.text : scalarOf(head.text);
  }

  private head(depth: number): Head {
    const c = this.peek();
    if (c === '[') return { kind: 'group', value: this.group(depth + 1) };
    if (c === '"' || c === "'") return { kind: 'quoted', text: this.quoted() };
    return { kind: 'bare', text: this.bare(KEY_STOPS, 'expected an element') };
  }

  private mapValue(depth: number): CliValue {
    this.skipSpace();
    const c = this.peek();
    if (c === '[') return this.group(depth + 1);
    if (c === '"' || c === "'") return this.quoted();
    return scalarOf(this.bare(VALUE_STOPS, "expected a value after ':'"));
  }

  /** Unquoted text up to a stop character, without trailing spaces; never empty. */
  private bare(stops: string, missing: string): string {
    const start = this.pos;
    while (!this.atEnd() && !stops.includes(this.peek()!)) this.pos++;
    const text = this.text.slice(start, this.pos).trimEnd();
    if (text === '') this.failAt(start, missing);
    if (this.peek() === '[') this.fail("unexpected '[' inside unquoted text (quote the text or add a ',')");
    return text;
  }

  private quoted(): string {
    const open = this.pos;
    const quote = this.text[this.pos]!;
    let out = '';
    this.pos++;
    while (!this.atEnd()) {
      const c = this.text[this.pos]!;
      const next = this.text[this.pos + 1];
      if (c === quote) {
        this.pos++;
        return out;
      }
      // Only the quote and the backslash are escapable, so Windows paths and regexes pass as typed.
      const escaped = c === '\\' && (next === quote || next === '\\');
      out += escaped ? next : c;
      this.pos += escaped ? 2 : 1;
    }
    return this.fail(`expected the closing ${quote} of the string opened at column ${open + 1}`);
  }

  private skipSpace(): void {
    while (!this.atEnd() && SPACE.test(this.peek()!)) this.pos++;
  }

  private eat(c: string): boolean {
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private fail(problem: string): never {
    return this.failAt(this.pos, problem);
  }

  private failAt(offset: number, problem: string): never {
    const c = this.text[offset];
    const found = c === undefined ? 'the end of the argument' : JSON.stringify(c);
    throw new CliSyntaxError(`${problem}, found ${found}`, offset + 1);
  }
}

/**
 * Writes a value so that parseCliArgument reads it back deep-equal: text is quoted (with `"`) only
 * when it is empty, has edge spaces, holds `, : [ ] " '` or looks like null, a boolean or a number.
 * Non-finite numbers have no cli form and throw a RangeError.
 */
export function formatCliArgument(value: CliValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string') return isBareText(value) && !looksLikeScalar(value) ? value : quote(value);
  if (Array.isArray(value)) return `[${value.map(formatCliArgument).join(',')}]`;
  const entries = Object.entries(value);
  if (entries.length === 0) return '[:]';
  return `[${entries.map(([k, v]) => `${formatKey(k)}:${formatCliArgument(v)}`).join(',')}]`;
}

/** Keys are never converted, so only structure characters and edge spaces force quotes. */
function formatKey(key: string): string {
  return isBareText(key) ? key : quote(key);
}

/**
 * Wider than what scalarOf converts: `007`, `1e5` or `NULL` read back as text either way, but quoting
 * them also keeps them text for a reader that follows PHP's is_numeric or ignores case.
 */
function looksLikeScalar(text: string): boolean {
  return /^(?:null|true|false)$/i.test(text) || /^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(text);
}

function isBareText(text: string): boolean {
  return text !== '' && text === text.trim() && !/[,:[\]"']/.test(text);
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`${n} cannot be written as a cli argument`);
  if (Object.is(n, -0)) return '-0';
  if (Number.isSafeInteger(n)) return String(n);
  // Beyond 2^53 an integer literal would read back as text, so write it as a decimal instead.
  const plain = plainDecimal(n);
  return Number.isInteger(n) ? `${plain}.0` : plain;
}

/** The shortest round-trip digits of n without exponent notation, which the syntax lacks. */
function plainDecimal(n: number): string {
  const [mantissa = '', exponent = '0'] = String(Math.abs(n)).split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + Number(exponent);
  const sign = n < 0 ? '-' : '';
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
