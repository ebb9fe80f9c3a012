import type { AgentLog } from './agent-log.js';
import { backoffMs, sleep } from './backoff.js';
import { CredentialsError, loadCredentials, normaliseUrl, saveCredentials, tokenDigest, type Credentials } from './credentials.js';
import { WireError, type WireClient } from './wire-client.js';

export interface EnrolOptions {
  client: WireClient;
  dataDir: string;
  url: string;
  /** The one-time enrolment token from `hostplane node create` (or `node rotate-token`). */
  token: string | undefined;
  log: AgentLog;
  signal?: AbortSignal;
  backoff: { baseMs: number; maxMs: number };
}

/**
 * The node's own token: the saved one, or a new one bought with the enrolment token. A saved token
 * for the same control plane wins over a --token already spent on it; a different --token is tried
 * (a rotation), and when the control plane refuses it, the saved token stays in use.
 * Waits for an unreachable control plane; gives up only on answers that will not change.
 */
export async function ensureCredentials(o: EnrolOptions): Promise<Credentials> {
  const saved = await loadCredentials(o.dataDir);
  const url = normaliseUrl(o.url);
  const sameCp = saved !== undefined && saved.url === url;
  if (sameCp && (o.token === undefined || tokenDigest(o.token) === saved.enrolmentDigest)) return saved;
  if (o.token === undefined) {
    if (saved) throw new CredentialsError(`the saved credentials are for ${saved.url}, not ${url}: pass --token with an enrolment token from that control plane`);
    throw new CredentialsError('this node is not enrolled yet: pass --token with the enrolment token `hostplane node create` printed');
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await o.client.enrol(o.token);
      const credentials: Credentials = {
        url,
        nodeId: r.node.id,
        nodeName: r.node.name,
        roles: r.node.roles,
        token: r.token,
        enrolmentDigest: tokenDigest(o.token),
        enrolledAt: new Date().toISOString(),
      };
      await saveCredentials(o.dataDir, credentials);
      o.log.info({ node: r.node.name, nodeId: r.node.id, roles: r.node.roles }, 'enrolled with the control plane; the node token is saved in credentials.json');
      return credentials;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      if (e.failure !== 'unavailable') {
        if (sameCp) {
          o.log.warn({ err: e.message }, 'the new enrolment token was refused; keeping the saved node token');
          return saved;
        }
        throw new CredentialsError(`enrolment refused (${e.message}): the token is unknown, expired or already used; \`hostplane node rotate-token\` issues a new one`);
      }
      const wait = backoffMs(attempt, o.backoff.baseMs, o.backoff.maxMs);
      o.log.warn({ err: e.message, retryInMs: wait }, 'cannot reach the control plane to enrol; retrying');
      await sleep(wait, o.signal);
      if (o.signal?.aborted) throw new CredentialsError('stopped before enrolment finished');
    }
  }
}
