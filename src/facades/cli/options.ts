import { Argument, InvalidArgumentError, type Command } from 'commander';
import { AdminClient } from './admin-client.js';
import { json } from './output.js';

/**
 * Numbers are checked before anything is sent: "10x" must not reach the API as a string and come back
 * as a confusing type error, and commander then reports it as a usage error naming the option.
 */
export function integer(raw: string): number {
  const n = Number(raw);
  if (!/^-?[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
}

export function positiveId(raw: string): number {
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** For options given once per value (`--tag a --tag b`); undefined when never given, so updates can leave the field alone. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export const idArgument = (name = 'id', description = 'numeric id') => new Argument(`<${name}>`, description).argParser(positiveId);

export interface JsonOption {
  json?: boolean;
}

/** What every admin command needs: the API, and one way to print a result in either form. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  /** From --idempotency-key on the command being run; the API client sends it with its change. */
  idempotencyKey?: string;
  api(): AdminClient;
  emit(opts: JsonOption, body: unknown, human: () => string): void;
}

export function cliContext(env: NodeJS.ProcessEnv): CliContext {
  let client: AdminClient | undefined;
  const ctx: CliContext = {
    env,
    // Resolved on first use so `--help` and usage errors never need a server or a key.
    api: () => {
      client ??= AdminClient.fromEnv(env);
      client.idempotencyKey = ctx.idempotencyKey;
      return client;
    },
    emit: (opts, body, human) => {
      process.stdout.write(opts.json ? json(body) : human());
    },
  };
  return ctx;
}

export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print the result as JSON');
}

export interface IdempotencyOption {
  idempotencyKey?: string;
}

/** For commands that change something: running one again with the same key changes nothing twice. */
export function withIdempotencyKey(cmd: Command): Command {
  return cmd.option('--idempotency-key <key>', 'a unique key (e.g. a UUID) for this change: repeating the command with it within 24 h replays the first answer instead of changing anything again');
}

/** The fields of `values` that were given, so a PATCH touches nothing else. */
export function given<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
