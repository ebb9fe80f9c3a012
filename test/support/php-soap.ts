import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * PHP's own SoapClient (Debian php-cli + php-soap), as ApisCP billing modules use it, driven by
 * php/soap-client.php. CI installs PHP; without it the suites that use this fail instead of skipping.
 */
const PHP_CLIENT = fileURLToPath(new URL('./php/soap-client.php', import.meta.url));

export interface PhpCall {
  op: string;
  args?: unknown[];
  headers?: string[];
}
export type Tree = [string, ...unknown[]];
export interface PhpOutcome {
  ok?: true;
  value?: Tree;
  export?: string;
  status: number | null;
  fault?: { faultcode: string; faultstring: string; detail: Tree | null };
}

export async function requirePhpSoap(): Promise<void> {
  let modules: string;
  try {
    modules = (await promisify(execFile)('php', ['-m'])).stdout;
  } catch (err) {
    throw new Error(`this suite needs php with the soap extension (apt-get install php-cli php-soap; CI installs it): ${(err as Error).message}`);
  }
  if (!/^soap$/m.test(modules)) throw new Error('this suite needs the PHP soap extension: apt-get install php-soap (CI installs it)');
}

/** Runs the calls through one PHP process; `location` is the endpoint URL, carrying the authkey like billing modules'. */
export function runPhpSoap(calls: PhpCall[], opts: { wsdl: string; location: string }): Promise<PhpOutcome[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('php', [PHP_CLIENT], {
      env: { ...process.env, SOAP_TEST_WSDL: opts.wsdl, SOAP_TEST_LOCATION: opts.location },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`php exited with ${code}: ${stderr}${stdout}`));
      else {
        try {
          resolve(JSON.parse(stdout) as PhpOutcome[]);
        } catch {
          reject(new Error(`php printed something that is not JSON: ${stdout}${stderr}`));
        }
      }
    });
    child.stdin.end(JSON.stringify(calls));
  });
}

/**
 * PHP's value as plain JS, keeping the distinctions that matter: a list is an array, an associative
 * array an object, a float is {float: x} (so an int can never pass for one), a stdClass is
 * {'object(stdClass)': …} (so it can never pass for an array).
 */
export function fromPhp(tree: Tree): unknown {
  const [type, a, b] = tree;
  switch (type) {
    case 'NULL':
      return null;
    case 'boolean':
    case 'integer':
    case 'string':
      return a;
    case 'double':
      return { float: a };
    case 'binary':
      return { binary: a };
    case 'array': {
      const items = b as [string | number, Tree][];
      if (a) return items.map(([, v]) => fromPhp(v));
      return Object.fromEntries(items.map(([k, v]) => [String(k), fromPhp(v)]));
    }
    case 'object':
      return { [`object(${String(a)})`]: fromPhp(b as Tree) };
    default:
      throw new Error(`unknown PHP type ${type}`);
  }
}

