/*
 * Short intervals for tests that run real agents, so they wait seconds, not minutes. A module of its
 * own so that suites starting `hostplane serve` processes (test/ha/) use them without loading the app.
 */

/** The server's node settings for tests: heartbeats every second, unhealthy after three without. */
export const NODE_ENV = { HOSTPLANE_NODE_HEARTBEAT_SECONDS: '1', HOSTPLANE_NODE_USAGE_SECONDS: '1', HOSTPLANE_NODE_UNHEALTHY_SECONDS: '3' };

/** The agent's own: a short long-poll, and quick retries of the control plane and of failed objects. */
export const AGENT_ENV = { HOSTPLANE_AGENT_POLL_WAIT_SECONDS: '2', HOSTPLANE_AGENT_BACKOFF_MAX_SECONDS: '0.5', HOSTPLANE_AGENT_RETRY_MAX_SECONDS: '1' };
