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
  /** What PHP sent (request line and headers), when `showRequest` asked for it. */
  request_headers?: string | null;
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

/** An argument wrapped as `new SoapVar(value, ENCODING[, typeName, typeNamespace])` on the PHP side. */
export function soapVar(encoding: 'SOAP_ENC_OBJECT' | 'SOAP_ENC_ARRAY' | 'APACHE_MAP' | 'XSD_STRING' | 'XSD_INT' | 'XSD_BOOLEAN' | 'XSD_FLOAT' | 'XSD_ANYTYPE', value: unknown, type?: { name: string; namespace: string }): Record<string, unknown> {
  return { __soapvar__: encoding, value, ...(type ? { type_name: type.name, type_namespace: type.namespace } : {}) };
}

export interface PhpSoapOptions {
  wsdl: string;
  location: string;
  /**
   * Whose SoapClient constructor to copy: `test` (default), `clientexec` (ApisCPAPI::create_client) or
   * `whmcs` (ApisConnector::create_client, with `forwardedFor` and `espritId`). The two modules' styles
   * send their own fixed headers and ignore each call's.
   */
  style?: 'test' | 'clientexec' | 'whmcs';
  /** WHMCS: the X-Forwarded-For value (the customer's address). */
  forwardedFor?: string;
  /** WHMCS: the esprit_id cookie value (its session id, often empty). */
  espritId?: string;
  /** A CA certificate file PHP trusts for https (`-d openssl.cafile=`). */
  caFile?: string;
  /** Further `php -d name=value` settings. */
  phpSettings?: Record<string, string>;
  /** Report what PHP sent with each call (PhpOutcome.request_headers). */
  showRequest?: boolean;
}

/** Runs the calls through one PHP process; `location` is the endpoint URL, carrying the authkey like billing modules'. */
export function runPhpSoap(calls: PhpCall[], opts: PhpSoapOptions): Promise<PhpOutcome[]> {
  const settings = { ...(opts.caFile ? { 'openssl.cafile': opts.caFile } : {}), ...opts.phpSettings };
  const phpArgs = [...Object.entries(settings).flatMap(([k, v]) => ['-d', `${k}=${v}`]), PHP_CLIENT];
  return new Promise((resolve, reject) => {
    const child = spawn('php', phpArgs, {
      env: {
        ...process.env,
        SOAP_TEST_WSDL: opts.wsdl,
        SOAP_TEST_LOCATION: opts.location,
        SOAP_TEST_STYLE: opts.style ?? 'test',
        SOAP_TEST_FORWARDED_FOR: opts.forwardedFor ?? '',
        SOAP_TEST_ESPRIT_ID: opts.espritId ?? '',
        SOAP_TEST_SHOW_REQUEST: opts.showRequest ? '1' : '0',
      },
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

