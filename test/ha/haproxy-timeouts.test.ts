import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LONG_POLL_SLACK_MS } from '../../src/agent/wire-client.js';
import { MAX_WAIT_SECONDS } from '../../src/core/nodes/node-agent.service.js';
import { DEFAULT_PG_TIMEOUTS } from '../../src/db/pg-guard.js';

// Agents long-poll through HAProxy (docs/deploy.md). A long-poll HAProxy cut would reach the agent as
// a 504, logged as "cannot reach the control plane" and retried after a backoff: every quiet minute
// would look like an outage. So the shipped timeouts must cover the longest wait the server allows.

const REPO = path.join(import.meta.dirname, '..', '..');

/** The `timeout` lines of deploy/haproxy.cfg's `defaults`, in milliseconds. */
function shippedTimeouts(): Record<string, number> {
  const cfg = fs.readFileSync(path.join(REPO, 'deploy', 'haproxy.cfg'), 'utf8');
  const defaults = /^defaults\n([\s\S]*?)(?=^\S)/m.exec(cfg)?.[1] ?? '';
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const out: Record<string, number> = {};
  for (const m of defaults.matchAll(/^\s+timeout ([a-z-]+) ([0-9]+)(ms|s|m|h)?\s*$/gm)) out[m[1]!] = Number(m[2]) * unit[m[3] ?? 'ms']!;
  return out;
}

describe('deploy/haproxy.cfg and the agents\' long-poll', () => {
  const t = shippedTimeouts();
  const longestWaitMs = MAX_WAIT_SECONDS * 1000;
  // After its wait the server reads the node's state once more; a database that does not answer
  // fails that read within the stall check and its probe (a 503, which the agent retries).
  const answeredBy = longestWaitMs + DEFAULT_PG_TIMEOUTS.stallMs + DEFAULT_PG_TIMEOUTS.probeMs;

  it('HAProxy waits for a node longer than the server takes to answer the longest long-poll', () => {
    expect(t.server).toBeGreaterThan(answeredBy);
  });

  it('the client side is not cut sooner than the server side', () => {
    expect(t.client).toBeGreaterThanOrEqual(t.server!);
  });

  it('the agent does not give up on a long-poll HAProxy is still waiting for', () => {
    expect(longestWaitMs + LONG_POLL_SLACK_MS).toBeGreaterThanOrEqual(t.server!);
  });
});
