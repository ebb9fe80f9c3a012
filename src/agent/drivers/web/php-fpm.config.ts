/**
 * php-fpm configuration of the web role: one master per agent (`<dataDir>/php-fpm/php-fpm.conf`)
 * including one pool file per PHP site. Paths come from the driver (checked against SAFE_PATH) and
 * names from the wire regexes, so nothing here needs quoting.
 */
import path from 'node:path';
import { WireUserName } from '../../../core/nodes/agent-wire.schema.js';

export const phpPaths = (dataDir: string) => {
  const root = path.join(dataDir, 'php-fpm');
  return {
    root,
    mainConf: path.join(root, 'php-fpm.conf'),
    poolsDir: path.join(root, 'pools'),
    socketsDir: path.join(root, 'sock'),
    pidFile: path.join(root, 'php-fpm.pid'),
    errorLog: path.join(root, 'logs', 'error.log'),
  };
};

export const poolFile = (dataDir: string, name: string) => path.join(phpPaths(dataDir).poolsDir, `${name}.conf`);
export const poolSocket = (dataDir: string, name: string) => path.join(phpPaths(dataDir).socketsDir, `${name}.sock`);

export function renderPhpFpmMain(dataDir: string): string {
  const p = phpPaths(dataDir);
  return `; Managed by the Hostplane agent: rewritten on start, do not edit by hand.
[global]
pid = ${p.pidFile}
error_log = ${p.errorLog}
daemonize = yes
include = ${p.poolsDir}/*.conf
`;
}

export interface PoolInput {
  dataDir: string;
  name: string;
  home: string;
  /** Set when the agent runs as root: the pool's processes run as the site's user. */
  runAs: { user: string; group: string } | null;
  /** Who may connect to the socket when running as root: nginx's workers. */
  socketOwner: { user: string; group: string } | null;
}

export function renderPool(input: PoolInput): string {
  if (!WireUserName.safeParse(input.name).success) throw new Error(`refusing pool name ${JSON.stringify(input.name)}`);
  const lines = [`; Managed by the Hostplane agent: site ${input.name}.`, `[${input.name}]`];
  if (input.runAs) lines.push(`user = ${input.runAs.user}`, `group = ${input.runAs.group}`);
  lines.push(`listen = ${poolSocket(input.dataDir, input.name)}`);
  if (input.socketOwner) lines.push(`listen.owner = ${input.socketOwner.user}`, `listen.group = ${input.socketOwner.group}`);
  lines.push(
    'listen.mode = 0660',
    // Idle sites cost no PHP process: thousands of pools on a node are the normal case.
    'pm = ondemand',
    'pm.max_children = 5',
    'pm.process_idle_timeout = 10s',
    'pm.max_requests = 500',
    `chdir = ${path.join(input.home, 'public_html')}`,
    'catch_workers_output = no',
    `php_admin_value[open_basedir] = ${input.home}/`,
    `php_admin_value[upload_tmp_dir] = ${path.join(input.home, 'tmp')}`,
    `php_admin_value[sys_temp_dir] = ${path.join(input.home, 'tmp')}`,
    `php_admin_value[session.save_path] = ${path.join(input.home, 'tmp')}`,
    '',
  );
  return lines.join('\n');
}
