/**
 * The pool authority public key as pools publish it (04-Protocol-Security 4.7): base58check of a
 * little-endian u16 version, currently 1 (bytes [1, 0]), then the 32-byte x-only key.
 */
import { createHash } from 'node:crypto';
import { createBase58check } from '@scure/base';

export const AUTHORITY_KEY_VERSION = 1;

const base58check = createBase58check((data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest()));

/** A published key that cannot be used; the message says why, for a configuration error. */
export class AuthorityKeyError extends Error {
  override readonly name = 'AuthorityKeyError';
}

export function encodeAuthorityKey(xOnly: Uint8Array): string {
  if (xOnly.length !== 32) throw new AuthorityKeyError(`authority key must be 32 bytes (x-only), got ${xOnly.length}`);
  return base58check.encode(Buffer.concat([Buffer.of(AUTHORITY_KEY_VERSION & 0xff, AUTHORITY_KEY_VERSION >> 8), xOnly]));
}

/** The 32-byte x-only key, after checking checksum, version, length and that it is a point on the curve. */
export function decodeAuthorityKey(text: string): Buffer {
  let bytes: Uint8Array;
  try {
    bytes = base58check.decode(text.trim());
  } catch (error) {
    throw new AuthorityKeyError(`authority key is not valid base58check: ${(error as Error).message}`);
  }
  if (bytes.length !== 34) throw new AuthorityKeyError(`authority key must decode to 34 bytes, got ${bytes.length}`);
  const version = bytes[0] | (bytes[1] << 8);
  if (version !== AUTHORITY_KEY_VERSION) throw new AuthorityKeyError(`unsupported authority key version ${version}`);
  const key = Buffer.from(bytes.subarray(2));
  // A key not on the curve would make every certificate check fail later with a misleading "bad signature".
  if (!isCurveX(BigInt(`0x${key.toString('hex')}`)))
    throw new AuthorityKeyError('authority key is not a valid secp256k1 x-only public key');
  return key;
}

/** secp256k1's field prime. */
const P = 2n ** 256n - 2n ** 32n - 977n;

function powMod(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  for (; exponent > 0n; exponent >>= 1n) {
    if (exponent & 1n) result = (result * base) % modulus;
    base = (base * base) % modulus;
  }
  return result;
}

/**
 * BIP340's lift_x test without the curve library (loaded only for an SV2 handshake): x in [1, p) and
 * x^3 + 7 a square mod p (Euler's criterion).
 */
export function isCurveX(x: bigint): boolean {
  if (x <= 0n || x >= P) return false;
  const c = (powMod(x, 3n, P) + 7n) % P;
  return c === 0n || powMod(c, (P - 1n) / 2n, P) === 1n;
}
