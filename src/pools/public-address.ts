import { BlockList, isIP } from 'node:net';

/** Where a host that anyone may register must not lead the proxy: its own machine and private networks. */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

/**
 * Why an IP address may not be connected to on behalf of an anonymous registrant, or null when it is a
 * public address. IPv4-mapped IPv6 addresses are judged by their IPv4 address.
 */
export function nonPublicReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return `${address} is not an IP address`;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return nonPublicReason(mapped[1]);
  return NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6') ? `${address} is not a public address` : null;
}

/** What a pool address says beyond host and port: the scheme it was written with, when it was a URL. */
export interface ParsedPoolAddress {
  readonly host: string;
  readonly port: number;
  /** stratum+ssl:// or stratum+tls:// (true), stratum+tcp:// (false); absent without a scheme (and for stratum2). */
  readonly tls?: boolean;
  /** stratum+...:// says sv1, stratum2+tcp:// sv2; absent without a scheme. */
  readonly protocol?: 'sv1' | 'sv2';
  /** The authority key after the address in stratum2+tcp://host:port/<key> (not checked here). */
  readonly authorityPubkey?: string;
}

/**
 * host:port or [IPv6]:port, optionally as a URL `stratum+tcp://`, `stratum+ssl://` or `stratum+tls://`
 * (`tls` then says which), or as SV2 users write it, `stratum2+tcp://host:port/<authority key>` (the key
 * may be left out); null when it is none of these. Hosts come back without brackets.
 */
export function parsePoolAddress(input: string): ParsedPoolAddress | null {
  const sv2 = /^stratum2\+tcp:\/\/([^/]+)(?:\/([1-9A-HJ-NP-Za-km-z]{1,128}))?$/i.exec(input);
  if (sv2) {
    const address = hostAndPort(sv2[1]);
    if (!address) return null;
    return sv2[2] === undefined ? { ...address, protocol: 'sv2' } : { ...address, protocol: 'sv2', authorityPubkey: sv2[2] };
  }
  const scheme = /^stratum\+(tcp|ssl|tls):\/\//i.exec(input);
  const address = hostAndPort(scheme ? input.slice(scheme[0].length) : input);
  if (!address) return null;
  return scheme ? { ...address, tls: scheme[1].toLowerCase() !== 'tcp', protocol: 'sv1' } : address;
}

function hostAndPort(text: string): { host: string; port: number } | null {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text);
  const plain = /^([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(text);
  const host = bracketed ? bracketed[1] : plain?.[1];
  const port = Number(bracketed ? bracketed[2] : plain?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  if (bracketed && isIP(host) !== 6) return null;
  return { host, port };
}

/** How a pool's address is written: [IPv6]:port for IPv6 hosts. */
export function formatPoolAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
