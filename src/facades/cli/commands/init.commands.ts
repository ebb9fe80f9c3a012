import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../cli.errors.js';
import { withJson, type JsonOption } from '../options.js';
import { json } from '../output.js';

interface InitOptions extends JsonOption {
  force?: boolean;
  dataDir?: string;
}

/**
 * `hostplane init [file]`: writes the commented config file. It goes where the other commands look for
 * one (the file named, else --config / HOSTPLANE_CONFIG, else ./hostplane.env), owner-only from the
 * first byte since it may come to hold a database password or the master key.
 */
export function initCommands(program: Command, configOption: () => string | undefined, env: NodeJS.ProcessEnv): void {
  withJson(program.command('init'))
    .argument('[file]', 'where to write it (default: --config, HOSTPLANE_CONFIG, or ./hostplane.env)')
    .description('write a config file listing every setting with its default and what it does (mode 0600)')
    .option('--data-dir <dir>', 'the data directory to write into it (default: ./data beside the file)')
    .option('--force', 'replace an existing file')
    .action(async (fileArg: string | undefined, opts: InitOptions) => {
      const { DEFAULT_CONFIG_FILE, renderConfigFile } = await import('../../../config/config-file.js');
      const file = path.resolve(fileArg ?? configOption() ?? (env.HOSTPLANE_CONFIG || DEFAULT_CONFIG_FILE));
      if (fs.existsSync(file) && !opts.force) throw new CliError('conflict', `${file} already exists; add --force to replace it`);
      // Absolute, so the file means the same thing whichever directory a command is started from.
      const dataDir = path.resolve(opts.dataDir ?? path.join(path.dirname(file), 'data'));
      const text = renderConfigFile({ HOSTPLANE_DATA_DIR: dataDir }, new Date());
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
        fs.chmodSync(tmp, 0o600); // the umask may have taken bits away, never added: this only makes it exact
        fs.renameSync(tmp, file);
      } catch (e) {
        throw new CliError('config', `cannot write ${file}: ${(e as Error).message}`);
      }
      const relative = path.relative(process.cwd(), file);
      const serve = path.dirname(file) === process.cwd() && path.basename(file) === DEFAULT_CONFIG_FILE ? 'hostplane serve' : `hostplane serve --config ${relative.startsWith('..') ? file : relative}`;
      if (opts.json) return void process.stdout.write(json({ file, mode: '0600', data_dir: dataDir }));
      process.stdout.write(`wrote ${file} (mode 0600): every setting with its default, commented out; data dir ${dataDir}\nedit it, then: ${serve}   (and check with: ${serve.replace('serve', 'doctor')})\n`);
    });
}
