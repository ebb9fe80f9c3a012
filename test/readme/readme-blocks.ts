/**
 * Reads the README's ```sh blocks and splits each into the commands a reader would paste one at a
 * time, so the test runs whatever the README says today rather than a copy of it.
 */

export interface ReadmeBlock {
  /** The nearest heading above the block (`## Operator CLI`, without the hashes). */
  heading: string;
  /** 1-based line of the opening fence. */
  line: number;
  commands: ReadmeCommand[];
}

export interface ReadmeCommand {
  /** As written, comments and all (for messages). */
  text: string;
  /** What bash runs: the text without its comments (here-document bodies are left whole). */
  code: string;
  /** The comments on the command's own lines, joined (where the README states an expected answer). */
  comment: string;
  /** 1-based README line the command starts on. */
  line: number;
}

export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) heading = h[1]!.trim();
    if (!/^```sh\s*$/.test(line)) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`README line ${start + 1}: a sh block is never closed`);
    blocks.push({ heading, line: start + 1, commands: splitCommands(body, start + 2) });
  }
  return blocks;
}

/**
 * Splits shell lines into complete commands: a command goes on while a quote is open, a line ends in
 * a backslash, or a here-document has not reached its terminator. Lines that are only comments, and
 * blank lines between commands, belong to no command.
 */
export function splitCommands(lines: string[], firstLine = 1): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  let text: string[] = [];
  let code: string[] = [];
  let comments: string[] = [];
  let startLine = 0;
  let quote: "'" | '"' | null = null;
  let heredoc: string | null = null;

  lines.forEach((line, index) => {
    if (text.length === 0) {
      if (/^\s*(#.*)?$/.test(line)) return;
      startLine = firstLine + index;
    }
    text.push(line);
    if (heredoc !== null) {
      code.push(line);
      if (line.trim() === heredoc) heredoc = null;
    } else {
      const scanned = scanLine(line, quote);
      quote = scanned.quote;
      heredoc = scanned.heredoc;
      code.push(scanned.code);
      if (scanned.comment) comments.push(scanned.comment);
      if (quote !== null || heredoc !== null || scanned.continues) return;
    }
    if (heredoc !== null) return;
    commands.push({ text: text.join('\n'), code: code.join('\n').trimEnd(), comment: comments.join(' '), line: startLine });
    text = [];
    code = [];
    comments = [];
  });
  if (text.length > 0) throw new Error(`line ${startLine}: a command never ends (open quote or here-document)`);
  return commands;
}

interface Scanned {
  code: string;
  comment: string;
  quote: "'" | '"' | null;
  heredoc: string | null;
  continues: boolean;
}

/** One line of shell: where its comment starts, whether it leaves a quote open or starts a here-document. */
function scanLine(line: string, openQuote: "'" | '"' | null): Scanned {
  let quote = openQuote;
  let heredoc: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      continue;
    }
    if (c === '\\') {
      if (i === line.length - 1 && quote === null) return { code: line, comment: '', quote, heredoc, continues: true };
      i++;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
      return { code: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim(), quote, heredoc, continues: false };
    } else if (c === '<' && line.startsWith('<<', i) && line[i + 2] !== '<') {
      const m = /^<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(line.slice(i));
      if (m) {
        heredoc = m[2]!;
        i += m[0].length - 1;
      }
    }
  }
  return { code: line, comment: '', quote, heredoc, continues: false };
}
