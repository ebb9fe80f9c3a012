import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The HTTP status of every curl the command ran, in order. */
  httpStatuses: number[];
}

const DONE = '__readme_command_done__';
const STATUS = '__readme_http_status__';

/**
 * One bash process that a reader's terminal stands for: commands run one after another in it, so the
 * variables, `export`s and `cd`s of one are there for the next, as when pasting the README's blocks.
 * curl is wrapped only to be quiet about progress and to report each answer's HTTP status on stderr.
 */
export class ShellSession {
  private readonly bash: ChildProcess;
  private stdout = '';
  private n = 0;
  private exited: string | undefined;

  constructor(
    private readonly cwd: string,
    env: Record<string, string>,
    private readonly scratch: string,
  ) {
    fs.mkdirSync(scratch, { recursive: true });
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.bash.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.bash.stderr!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.bash.once('exit', (code, signal) => (this.exited = `bash exited (${code ?? signal})`));
    this.bash.stdin!.write(
      [
        'set -o pipefail',
        `curl() { command curl -sS -w '%{stderr}\\n${STATUS} %{http_code}\\n' "$@"; }`,
        '',
      ].join('\n'),
    );
  }

  /** Runs `code` as if typed at the prompt; stdin is empty, as for a pasted command that reads none. */
  async run(code: string, timeoutMs: number): Promise<CommandRun> {
    const i = this.n++;
    const file = (ext: string) => path.join(this.scratch, `${i}.${ext}`);
    fs.writeFileSync(file('sh'), code + '\n');
    const marker = `${DONE} ${i} `;
    this.bash.stdin!.write(`source ${q(file('sh'))} </dev/null >${q(file('out'))} 2>${q(file('err'))}; echo "${marker}$?"\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.stdout.indexOf(marker);
      if (at >= 0) {
        const end = this.stdout.indexOf('\n', at);
        if (end >= 0) {
          const exit = Number(this.stdout.slice(at + marker.length, end));
          this.stdout = this.stdout.slice(end + 1);
          return this.result(exit, fs.readFileSync(file('out'), 'utf8'), fs.readFileSync(file('err'), 'utf8'));
        }
      }
      if (this.exited) throw new Error(`${this.exited} while running:\n${code}\n${this.stdout}`);
      if (Date.now() > deadline) throw new Error(`no end within ${timeoutMs} ms of:\n${code}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private result(code: number, stdout: string, rawStderr: string): CommandRun {
    const httpStatuses: number[] = [];
    const stderr = rawStderr
      .split('\n')
      .filter((line) => {
        const m = new RegExp(`^${STATUS} (\\d+)$`).exec(line);
        if (m) httpStatuses.push(Number(m[1]));
        return !m;
      })
      .join('\n');
    return { code, stdout, stderr, httpStatuses };
  }

  close(): void {
    if (!this.exited) this.bash.kill('SIGKILL');
  }
}

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
