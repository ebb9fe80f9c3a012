import { runCli } from './facades/cli/cli.js';

/**
 * The program behind every entry point (npm start, bin/hostplane): the CLI facade. dist/main.js runs
 * it from the build's bundle; the returned promise settles once the command has done its work, or for
 * a command that keeps running (serve, worker) once it has started.
 */
export async function main(argv: string[]): Promise<void> {
  try {
    const code = await runCli(argv);
    if (code !== undefined) process.exitCode = code;
  } catch (err: unknown) {
    process.stderr.write(`hostplane: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
