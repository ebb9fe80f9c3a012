/**
 * How ApisCP's cpcmd prints a result: YAML by default, the way Symfony YAML dumps with inline level 2
 * (the top two levels as block mappings/sequences, anything deeper in flow style), or JSON with `-o json`.
 *
 * Values are JSON-shaped: objects with `toJSON` (dates) print what it returns, undefined or function
 * properties are left out, and in lists they print as null.
 */

/** Levels printed in block style before switching to flow style, as cpcmd's Symfony dump does. */
const BLOCK_LEVELS = 2;
const INDENT = '  ';

type Collection = unknown[] | Record<string, unknown>;

/**
 * YAML as cpcmd prints it, ending with a newline. A top-level string prints as is, unquoted: cpcmd
 * shows a scalar result "as a string", which is what `$(cpcmd ...)` in a shell script captures.
 */
export function formatYaml(value: unknown): string {
  const v = dataOf(value);
  if (typeof v === 'string') return `${v}\n`;
  if (isCollection(v) && entriesOf(v).length > 0) return `${blockLines(v, BLOCK_LEVELS, '').join('\n')}\n`;
  return `${inline(v)}\n`;
}

/**
 * Compact JSON (PHP's json_encode default, as cpcmd `-o json` prints) plus a newline. An empty map
 * prints as `[]` because PHP has one array type and json_encode writes every empty array as a list.
 * PHP's `\/` and `\uXXXX` escapes are not reproduced: every JSON reader (jq) decodes both forms alike.
 */
export function formatJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => jsonValue(v));
  return `${text ?? 'null'}\n`;
}

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return isPlainObject(v) && Object.keys(v).length === 0 ? [] : v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function dataOf(value: unknown): unknown {
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  return typeof toJSON === 'function' ? (toJSON as () => unknown).call(value) : value;
}

function isCollection(v: unknown): v is Collection {
  return v !== null && typeof v === 'object';
}

function isOmitted(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** Each entry as the label it prints with (`-` or `key:`) and its JSON-shaped value. */
function entriesOf(node: Collection): [string, unknown][] {
  if (Array.isArray(node)) return node.map((item) => ['-', isOmitted(item) ? null : dataOf(item)]);
  return Object.entries(node)
    .filter(([, v]) => !isOmitted(v))
    .map(([k, v]) => [`${yamlKey(k)}:`, dataOf(v)]);
}

/** A non-empty collection at a block level: one line per entry, children indented under their label. */
function blockLines(node: Collection, levels: number, indent: string): string[] {
  const lines: string[] = [];
  for (const [label, child] of entriesOf(node)) {
    if (levels > 1 && isCollection(child) && entriesOf(child).length > 0) {
      lines.push(indent + label, ...blockLines(child, levels - 1, indent + INDENT));
    } else {
      lines.push(`${indent}${label} ${inline(child)}`);
    }
  }
  return lines;
}

/**
 * Flow style, spaced as Symfony writes it: `{ a: 1, b: [x, y] }`. Any empty collection is `{ }`:
 * PHP has one array type, so ApisCP prints an empty list (no aliases) the same as an empty map.
 */
function inline(v: unknown): string {
  if (v === null || isOmitted(v)) return 'null';
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'number') return yamlNumber(v);
  if (typeof v === 'string') return yamlString(v);
  const entries = entriesOf(v as Collection);
  if (entries.length === 0) return '{ }';
  if (Array.isArray(v)) return `[${entries.map(([, item]) => inline(item)).join(', ')}]`;
  return `{ ${entries.map(([label, item]) => `${label} ${inline(item)}`).join(', ')} }`;
}

function yamlNumber(n: number): string {
  if (Number.isNaN(n)) return '.NaN';
  if (!Number.isFinite(n)) return n > 0 ? '.Inf' : '-.Inf';
  return Object.is(n, -0) ? '-0' : String(n);
}

/** PHP turns canonical integer keys into ints, which Symfony prints bare; the rest are strings. */
function yamlKey(key: string): string {
  const isIntKey = /^(?:0|-?[1-9][0-9]*)$/.test(key) && Number.isSafeInteger(Number(key));
  return isIntKey ? key : yamlString(key);
}

/** Words a YAML 1.1 or 1.2 reader (Symfony's or a script's) may take for null or a boolean. */
const RESERVED = /^(?:null|~|true|false|yes|no|on|off|y|n)$/i;
/** Anything a YAML reader may take for a number, including YAML 1.1 forms (`1_000`, `0b1`, `.inf`). */
const NUMBER_LIKE = [
  /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)$/,
  /^[-+]?\.(?:inf|nan)$/i,
];
/** Dates and timestamps, which YAML 1.1 readers turn into times. */
const DATE_LIKE = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/;
/** Symfony's rule: any space or flow/indicator character anywhere, or an indicator first, needs quotes. */
const SPECIAL_ANYWHERE = /[\s'":{}[\],&*#?]/;
const SPECIAL_FIRST = /^[-?|<>=!%@`]/;

function yamlString(s: string): string {
  if ([...s].some((ch) => needsEscape(ch.codePointAt(0)!))) return doubleQuoted(s);
  const plain = s !== '' && !RESERVED.test(s) && !SPECIAL_ANYWHERE.test(s) && !SPECIAL_FIRST.test(s)
    && !NUMBER_LIKE.some((re) => re.test(s)) && !DATE_LIKE.test(s);
  return plain ? s : `'${s.replaceAll("'", "''")}'`;
}

/** Control characters, line breaks, lone surrogates and other non-printables cannot be single-quoted. */
function needsEscape(cp: number): boolean {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp === 0x2028 || cp === 0x2029
    || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0xfeff || cp === 0xfffe || cp === 0xffff;
}

const NAMED_ESCAPES: Record<number, string> = {
  0x00: '\\0', 0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r',
  0x1b: '\\e', 0x22: '\\"', 0x5c: '\\\\', 0x85: '\\N', 0xa0: '\\_', 0x2028: '\\L', 0x2029: '\\P',
};

function doubleQuoted(s: string): string {
  return `"${[...s].map(escapeChar).join('')}"`;
}

function escapeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const named = NAMED_ESCAPES[cp];
  if (named !== undefined) return named;
  if (!needsEscape(cp)) return ch;
  const hex = cp.toString(16).toUpperCase();
  return cp < 0x100 ? `\\x${hex.padStart(2, '0')}` : `\\u${hex.padStart(4, '0')}`;
}
