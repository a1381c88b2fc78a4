/**
 * HAProxy's PROXY protocol (v1 text and v2 binary), as a load balancer puts it in front of a connection:
 * the client's own address. Pure: bytes in, a header out.
 */

/** The longest v1 header (107 bytes) and the longest v2 header this reads (16 + 216 bytes of addresses and TLVs). */
export const PROXY_HEADER_MAX_BYTES = 16 + 216;

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');

export type ProxyHeader =
  /** Not enough bytes yet. */
  | { readonly kind: 'incomplete' }
  /** Not a PROXY header, or a malformed one. */
  | { readonly kind: 'invalid'; readonly reason: string }
  /** A header; `source` null for LOCAL (health checks) and UNKNOWN; `length` bytes to skip. */
  | { readonly kind: 'header'; readonly length: number; readonly source: { readonly address: string; readonly port: number } | null };

/** Reads a PROXY header at the start of `data` (the first bytes of a connection). */
export function parseProxyHeader(data: Buffer): ProxyHeader {
  const v2 = data.subarray(0, V2_SIGNATURE.length);
  if (V2_SIGNATURE.subarray(0, v2.length).equals(v2)) return data.length < 16 ? { kind: 'incomplete' } : parseV2(data);
  const v1 = data.subarray(0, V1_PREFIX.length);
  if (V1_PREFIX.subarray(0, v1.length).equals(v1)) return data.length < V1_PREFIX.length ? { kind: 'incomplete' } : parseV1(data);
  return { kind: 'invalid', reason: 'no PROXY protocol header' };
}

function parseV1(data: Buffer): ProxyHeader {
  const end = data.indexOf('\r\n');
  if (end === -1) return data.length >= 107 ? { kind: 'invalid', reason: 'PROXY v1 header longer than 107 bytes' } : { kind: 'incomplete' };
  const parts = data.subarray(0, end).toString('latin1').split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { kind: 'header', length, source: null };
  if (parts.length !== 6 || (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')) return { kind: 'invalid', reason: 'malformed PROXY v1 header' };
  const port = Number(parts[4]);
  if (!/^\d{1,5}$/.test(parts[4]) || port > 65535) return { kind: 'invalid', reason: 'malformed PROXY v1 source port' };
  const address = parts[2];
  const valid = parts[1] === 'TCP4' ? /^\d{1,3}(\.\d{1,3}){3}$/.test(address) : /^[0-9a-fA-F:.]+$/.test(address) && address.includes(':');
  if (!valid) return { kind: 'invalid', reason: 'malformed PROXY v1 source address' };
  return { kind: 'header', length, source: { address, port } };
}

function parseV2(data: Buffer): ProxyHeader {
  const versionCommand = data[12];
  if (versionCommand >> 4 !== 2) return { kind: 'invalid', reason: 'unsupported PROXY protocol version' };
  const addressLength = data.readUInt16BE(14);
  const length = 16 + addressLength;
  if (length > PROXY_HEADER_MAX_BYTES) return { kind: 'invalid', reason: 'PROXY v2 header too long' };
  if (data.length < length) return { kind: 'incomplete' };
  const command = versionCommand & 0x0f;
  if (command === 0) return { kind: 'header', length, source: null }; // LOCAL: the balancer's own check
  if (command !== 1) return { kind: 'invalid', reason: 'unknown PROXY v2 command' };
  const family = data[13] >> 4;
  const body = data.subarray(16, length);
  if (family === 1 && addressLength >= 12) {
    return { kind: 'header', length, source: { address: Array.from(body.subarray(0, 4)).join('.'), port: body.readUInt16BE(8) } };
  }
  if (family === 2 && addressLength >= 36) {
    const groups = Array.from({ length: 8 }, (_, i) => body.readUInt16BE(i * 2).toString(16));
    return { kind: 'header', length, source: { address: groups.join(':'), port: body.readUInt16BE(32) } };
  }
  return { kind: 'header', length, source: null }; // UNSPEC or unix sockets: no address to use
}
