import { domainToASCII } from 'node:url';
import { isIP } from 'node:net';

const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Canonical form of a domain name: IDNA A-labels (UTS #46), lower case, no trailing dot.
 * Returns null when the input is not a registrable-looking host name with at least two labels.
 */
export function normalizeDomainName(input: string): string | null {
  const trimmed = input.trim().replace(/\.$/, '');
  if (trimmed === '' || trimmed.length > 253 || /[\s/\\@:?#*]/.test(trimmed)) return null;
  const ascii = domainToASCII(trimmed);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2) return null;
  if (!labels.every((l) => label.test(l))) return null;
  // A numeric top-level label would make "1.2.3.4" look like a domain.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  return ascii;
}

/** A mail server is a host name (one label allowed for internal names is not: mail must route) or an IP literal. */
export function normalizeMailServer(input: string): string | null {
  const trimmed = input.trim();
  const bare = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  if (isIP(bare)) return bare.toLowerCase();
  return normalizeDomainName(trimmed);
}
