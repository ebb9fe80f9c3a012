import { runCli } from './facades/cli/cli.js';

// Every entry point (npm start, bin/hostplane) goes through the CLI facade.
runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`hostplane: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
