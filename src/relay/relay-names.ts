import { isIP } from 'node:net';
import { opDomainName, RelayError, type RelayOp } from './relay-driver.js';

/*
 * Defence in depth: the core already normalises every name it stores, but a driver writes names into
 * files another program parses (or sends them to another system), so it accepts only the canonical
 * form and never "fixes" anything. Independent of src/core on purpose: a bug there must not become a
 * map-file injection here.
 */

// Lower-case LDH labels of 1..63 characters, not starting or ending with a hyphen; at least two labels.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)(?:${LABEL}\\.)+${LABEL}$`);

/** A canonical domain name: lower-case A-labels, no trailing dot, at least two labels, non-numeric TLD. */
export function isCanonicalDomainName(name: unknown): name is string {
  if (typeof name !== 'string' || !HOST_NAME.test(name)) return false;
  return !/^[0-9]+$/.test(name.slice(name.lastIndexOf('.') + 1)); // "1.2.3.4" is an address, not a domain
}

/** 4 or 6 for a bare IP literal in canonical-enough form (lower-case, no brackets, no zone id), else 0. */
export function ipVersionOf(server: string): 0 | 4 | 6 {
  if (/^[0-9.]+$/.test(server) && isIP(server) === 4) return 4;
  if (/^[0-9a-f:.]+$/.test(server) && isIP(server) === 6) return 6;
  return 0;
}

/** A mail server: a canonical host name or a bare IPv4/IPv6 literal. */
export function isValidMailServer(server: unknown): server is string {
  return typeof server === 'string' && (isCanonicalDomainName(server) || ipVersionOf(server) !== 0);
}

/** Rejects the whole batch, naming every offending op, before a driver touches anything. */
export function assertValidOps(ops: readonly RelayOp[], driver: string): void {
  if (!Array.isArray(ops)) throw new RelayError(`${driver} relay driver: apply() expects an array of ops`);
  const problems: string[] = [];
  ops.forEach((op, i) => {
    const kind = (op as { op?: unknown } | null)?.op;
    if (kind !== 'provision' && kind !== 'update' && kind !== 'deprovision') {
      problems.push(`op #${i}: unknown op ${JSON.stringify(kind)}`);
      return;
    }
    if (kind !== 'deprovision' && (typeof op.domain !== 'object' || op.domain === null)) {
      problems.push(`op #${i} (${kind}): missing domain`);
      return;
    }
    const name = opDomainName(op);
    if (!isCanonicalDomainName(name)) problems.push(`op #${i} (${kind}): ${JSON.stringify(name)} is not a canonical domain name`);
    if (op.op !== 'deprovision') {
      const servers: unknown = op.domain.mailServers;
      if (!Array.isArray(servers)) problems.push(`op #${i} (${kind} ${JSON.stringify(name)}): mailServers must be an array`);
      else {
        for (const s of servers) {
          if (!isValidMailServer(s)) problems.push(`op #${i} (${kind} ${JSON.stringify(name)}): ${JSON.stringify(s)} is not a valid mail server host name or IP address`);
        }
      }
    }
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('; ');
    const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
    throw new RelayError(`${driver} relay driver: batch rejected, nothing applied: ${shown}${more}`);
  }
}

/** Order-preserving de-duplication of a mail server list. */
export function uniqueServers(servers: readonly string[]): string[] {
  return [...new Set(servers)];
}
