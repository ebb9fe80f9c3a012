import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Python's own xmlrpc.client (what the Odoo SaaS seed's scripts use), driven by py/xmlrpc_client.py.
 * python3 is on every machine of this project; without it the suites that use this fail, not skip.
 */
const SCRIPT = fileURLToPath(new URL('./py/xmlrpc_client.py', import.meta.url));

/** A Python value as the script reports it: ["int", 5], ["dict", {...}], ... */
export type Typed = [string, ...unknown[]];

export interface PyOutcome {
  ok?: Typed;
  fault?: { faultCode: number | string; faultString: string };
  protocolError?: { errcode: number; errmsg: string };
  error?: string;
}

export interface PyCall {
  method: string;
  args?: unknown[];
}

export async function requirePython(): Promise<void> {
  try {
    await promisify(execFile)('python3', ['-c', 'import xmlrpc.client']);
  } catch (err) {
    throw new Error(`this suite needs python3 with its standard library (apt-get install python3): ${(err as Error).message}`);
  }
}

function runPython<T>(job: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (err) => reject(new Error(`could not run python3 (this suite needs it): ${err.message}`)));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`python3 exited with ${code}: ${stderr}${stdout}`));
      else {
        try {
          resolve(JSON.parse(stdout) as T);
        } catch {
          reject(new Error(`python3 printed something that is not JSON: ${stdout}${stderr}`));
        }
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}

/** Calls through `xmlrpc.client.ServerProxy(url, allow_none=True)`, one Python process for the batch. */
export function pythonCalls(url: string, calls: PyCall[]): Promise<PyOutcome[]> {
  return runPython({ mode: 'calls', url, calls });
}

/** The request bodies Python's client would send. */
export function pythonDumps(calls: PyCall[]): Promise<string[]> {
  return runPython({ mode: 'dumps', calls });
}

/** How Python's client reads response bodies. */
export function pythonLoads(responses: string[]): Promise<PyOutcome[]> {
  return runPython({ mode: 'loads', responses });
}

/** A typed Python value back to plain JSON-ish data (ints beyond 2^53 stay text), for toEqual. */
export function plain(value: Typed): unknown {
  const [type, v] = value;
  switch (type) {
    case 'list':
      return (v as Typed[]).map(plain);
    case 'dict':
      return Object.fromEntries(Object.entries(v as Record<string, Typed>).map(([k, item]) => [k, plain(item)]));
    default:
      return v;
  }
}
