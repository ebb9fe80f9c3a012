import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Server-side request forgery guard for webhook URLs: http(s) only, and (unless the operator allows
 * it) no address that reaches the server itself or a private network. Checked when an endpoint is
 * registered and again for every delivery, against the very addresses the request then connects to.
 * IPv6 forms that carry an IPv4 address (mapped, compatible, 6to4, Teredo, NAT64) are judged by the
 * IPv4 address inside as well, since that is where a relay or translator would deliver them.
 */
// BlockList judges an IPv4-mapped IPv6 address (::ffff:a.b.c.d) by the IPv4 rules and an IPv4 address
// by the IPv6 rules for ::ffff:0:0/96, so that range must never be listed as IPv6: it would block all.
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local (cloud metadata)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible
  ['64:ff9b:1::', 48], // NAT64 for local use: the embedded address is the operator's own network
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

/** The 8 hextets of a valid IPv6 address (dotted IPv4 tails included, zone id ignored). */
function hextets(address: string): number[] {
  let text = address.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16));
}

function ipv4Of(high: number, low: number): string {
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * The IPv4 addresses an IPv6 address stands for or leads to: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), 6to4 (2002:AABB:CCDD::/48),
 * Teredo (2001:0::/32: the server, and the client with its bits inverted) and NAT64 (64:ff9b::/96).
 */
export function embeddedIpv4(address: string): string[] {
  const h = hextets(address);
  const zeros = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && (h[5] === 0xffff || h[5] === 0)) return [ipv4Of(h[6]!, h[7]!)];
  if (zeros(0, 4) && h[4] === 0xffff && h[5] === 0) return [ipv4Of(h[6]!, h[7]!)];
  if (h[0] === 0x2002) return [ipv4Of(h[1]!, h[2]!)];
  if (h[0] === 0x2001 && h[1] === 0) return [ipv4Of(h[2]!, h[3]!), ipv4Of(h[6]! ^ 0xffff, h[7]! ^ 0xffff)];
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return [ipv4Of(h[6]!, h[7]!)];
  return [];
}

/** Whether an IP address is loopback, private, link-local, multicast or otherwise not the public internet. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: never something to connect to
  const h = hextets(address);
  if (h.length !== 8 || h.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffff)) return true;
  const canonical = h.map((x) => x.toString(16)).join(':');
  return blocked.check(canonical, 'ipv6') || embeddedIpv4(canonical).some((v4) => blocked.check(v4, 'ipv4'));
}

export class WebhookTargetError extends Error {
  /** True when the target itself is refused (a private address), not merely unreachable for now. */
  constructor(message: string, readonly refused = false) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

/** The URL, if it is an http(s) URL; a WebhookTargetError otherwise. */
export function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('must be an http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookTargetError('must be an http or https URL');
  if (url.username || url.password) throw new WebhookTargetError('must not carry credentials');
  return url;
}

/** The host as a bare name or address (URL keeps IPv6 literals in brackets). */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a host name resolves to; the system resolver unless one is given (tests). */
export type HostResolver = (host: string) => Promise<ResolvedAddress[]>;

const systemResolver: HostResolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));

/**
 * Every address the host resolves to, refused as a whole when any of them is private (a name that
 * resolves to both a public and a private address could otherwise be steered to the private one).
 */
export async function resolvePublicAddresses(host: string, allowPrivate: boolean, resolve: HostResolver = systemResolver): Promise<ResolvedAddress[]> {
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal) addresses = [{ address: host, family: literal as 4 | 6 }];
  else {
    try {
      // The family is taken from the address itself, never from what the resolver claims.
      addresses = (await resolve(host)).map((a) => ({ address: a.address, family: (isIP(a.address) === 6 ? 6 : 4) as 4 | 6 }));
    } catch {
      throw new WebhookTargetError(`host ${host} could not be resolved`);
    }
  }
  if (addresses.length === 0) throw new WebhookTargetError(`host ${host} could not be resolved`);
  if (!allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) throw new WebhookTargetError(`must not point at a loopback, private or link-local address (${host} is ${bad.address})`, true);
  }
  return addresses;
}

/** Registration check: an http(s) URL whose host resolves to public addresses only (unless allowed). */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean, resolve?: HostResolver): Promise<URL> {
  const url = parseWebhookUrl(raw);
  await resolvePublicAddresses(hostOf(url), allowPrivate, resolve);
  return url;
}
