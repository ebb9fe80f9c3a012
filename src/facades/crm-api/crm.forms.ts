import { AppError } from '../../errors/app-error.js';

// REMP's own clients are PHP: they post `application/x-www-form-urlencoded` bodies built by
// http_build_query, where nested fields are spelled with brackets. This reads that spelling into the
// same shape a JSON body has, so the use cases see one input whichever encoding the caller chose:
//
//   email=a%40b.test                       → { email: "a@b.test" }
//   meta[family_subscriptions_count]=5     → { meta: { family_subscriptions_count: "5" } }
//   items[0][count]=5&items[0][price]=9.5  → { items: [{ count: "5", price: "9.5" }] }
//   access[]=web&access[]=print            → { access: ["web", "print"] }
//
// A group whose keys are exactly 0..n-1 (in any order) is a list, in index order; any other group is
// an object. Values stay text (the schemas accept "12", "9.50", "1" where they take numbers and flags).
// Refused as malformed, never guessed at: a name given twice, a name used both as a value and as a
// group, unbalanced or empty brackets, nesting deeper than MAX_DEPTH, and bad %-escapes.

const MAX_DEPTH = 4;

type Node = { [key: string]: Node | string };

const malformed = (why: string) => new AppError('malformed_request', `Malformed form body: ${why}`);

function decode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw malformed('bad %-escape');
  }
}

/** `items[0][meta][x]` → ['items', '0', 'meta', 'x']; `access[]` → ['access', '']. */
function pathOf(name: string): string[] {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(name);
  if (!m) throw malformed(`bad field name ${JSON.stringify(name.slice(0, 100))}`);
  const path = [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((s) => s[1]!)];
  if (path.length - 1 > MAX_DEPTH) throw malformed(`${JSON.stringify(m[1])} is nested deeper than ${MAX_DEPTH} levels`);
  if (path.slice(1, -1).includes('')) throw malformed(`"[]" may only end a field name (${JSON.stringify(name.slice(0, 100))})`);
  return path;
}

function toPlain(node: Node | string): unknown {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  const isList = keys.length > 0 && keys.every((k) => /^(0|[1-9][0-9]{0,5})$/.test(k)) && keys.every((k) => Number(k) < keys.length);
  if (isList) return keys.map(Number).sort((a, b) => a - b).map((i) => toPlain(node[String(i)]!));
  return Object.fromEntries(keys.map((k) => [k, toPlain(node[k]!)]));
}

export function parseForm(raw: string): Record<string, unknown> {
  // Null-prototype groups: a field named __proto__ or constructor is an ordinary (unknown) field.
  const root: Node = Object.create(null) as Node;
  const appended = new Map<Node, number>();
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const path = pathOf(name);
    let node = root;
    for (let i = 0; i < path.length; i++) {
      let key = path[i]!;
      if (key === '') {
        // `name[]`: the next element of a list built by appending.
        const next = appended.get(node) ?? 0;
        if (Object.keys(node).length !== next) throw malformed(`${JSON.stringify(path[0])} mixes [] with named or numbered fields`);
        appended.set(node, next + 1);
        key = String(next);
      }
      const last = i === path.length - 1;
      const existing = node[key];
      if (last) {
        if (existing !== undefined) throw malformed(`${JSON.stringify(name.slice(0, 100))} is given twice`);
        node[key] = value;
      } else if (existing === undefined) {
        node = node[key] = Object.create(null) as Node;
      } else if (typeof existing === 'string') {
        throw malformed(`${JSON.stringify(path.slice(0, i + 1).join('.'))} is both a value and a group`);
      } else {
        if (appended.has(existing) && path[i + 1] !== '') throw malformed(`${JSON.stringify(path[0])} mixes [] with named or numbered fields`);
        node = existing;
      }
    }
  }
  // The body itself is always an object of fields, whatever its field names.
  return Object.fromEntries(Object.keys(root).map((k) => [k, toPlain(root[k]!)]));
}
