import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';

/**
 * `<data dir>/credentials.json` (mode 0600): the node's own token, bought once with a one-time enrolment
 * token. `enrolmentDigest` remembers which enrolment token bought it, so a restart with the same
 * --token (a unit file keeps it) does not try to spend it again, while a new one (after
 * `node rotate-token`) is exchanged.
 */
export const Credentials = z.object({
  url: z.string(),
  nodeId: z.number().int().positive(),
  nodeName: z.string(),
  roles: z.array(z.string()),
  token: z.string().min(20),
  enrolmentDigest: z.string(),
  enrolledAt: z.string(),
});
export type Credentials = z.infer<typeof Credentials>;

export const credentialsFile = (dataDir: string) => path.join(dataDir, 'credentials.json');

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The control plane's identity for comparing URLs: origin plus path, without a trailing slash. */
export function normaliseUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export class CredentialsError extends Error {}

export async function loadCredentials(dataDir: string): Promise<Credentials | undefined> {
  const file = credentialsFile(dataDir);
  let raw: unknown;
  try {
    raw = await readJsonFile(file);
  } catch (e) {
    throw new CredentialsError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (raw === undefined) return undefined;
  const parsed = Credentials.safeParse(raw);
  if (!parsed.success) throw new CredentialsError(`${file} is not a credentials file this agent wrote (remove it and enrol again with a new token)`);
  return parsed.data;
}

export async function saveCredentials(dataDir: string, credentials: Credentials): Promise<void> {
  const file = credentialsFile(dataDir);
  await writeFileAtomic(file, JSON.stringify(credentials, null, 2) + '\n', 0o600);
  // An existing file keeps its mode through rename of a new one, but say it plainly.
  await fs.promises.chmod(file, 0o600);
}
