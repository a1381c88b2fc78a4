import { createBase58check } from '@scure/base';
import { createHash } from 'node:crypto';
import { schnorr } from '@noble/curves/secp256k1.js';
import { randomBytes } from 'node:crypto';
import { AuthorityKeyError, decodeAuthorityKey, encodeAuthorityKey, isCurveX } from './authority-key.js';
import { generateKeyPair } from './noise.js';

// 04-Protocol-Security 4.7.1.
const RAW_CA_PUBLIC_KEY = Buffer.from([
  118, 99, 112, 0, 151, 156, 28, 17, 175, 12, 48, 11, 205, 140, 127, 228, 134, 16, 252, 233, 185, 193, 30, 61, 174, 227, 90, 224, 176, 138,
  116, 85,
]);
const PREFIXED_BASE58CHECK = '9bXiEd8boQVhq7WddEcERUL5tyyJVFYdU8th3HfbNXK3Yw6GRXh';

const base58check = createBase58check((data: Uint8Array) => new Uint8Array(createHash('sha256').update(data).digest()));

describe('pool authority public key', () => {
  it("the spec's test vector: raw key <-> base58check with the [1, 0] prefix", () => {
    expect(encodeAuthorityKey(RAW_CA_PUBLIC_KEY)).toBe(PREFIXED_BASE58CHECK);
    expect(decodeAuthorityKey(PREFIXED_BASE58CHECK).equals(RAW_CA_PUBLIC_KEY)).toBe(true);
    expect(Buffer.from(base58check.decode(PREFIXED_BASE58CHECK)).subarray(0, 2).toString('hex')).toBe('0100');
  });

  it('round-trips any key and tolerates surrounding white space (copied from a web page)', () => {
    const { publicKey } = generateKeyPair();
    expect(decodeAuthorityKey(` ${encodeAuthorityKey(publicKey)}\n`).equals(publicKey)).toBe(true);
  });

  it('refuses a bad checksum, a wrong version, a wrong length and a key off the curve', () => {
    const typo = PREFIXED_BASE58CHECK.slice(0, -1) + (PREFIXED_BASE58CHECK.endsWith('h') ? 'g' : 'h');
    expect(() => decodeAuthorityKey(typo)).toThrow(AuthorityKeyError);
    expect(() => decodeAuthorityKey('not base58 0OIl')).toThrow(AuthorityKeyError);
    expect(() => decodeAuthorityKey(base58check.encode(Buffer.concat([Buffer.of(2, 0), RAW_CA_PUBLIC_KEY])))).toThrow(/version 2/);
    expect(() => decodeAuthorityKey(base58check.encode(Buffer.concat([Buffer.of(1, 0), RAW_CA_PUBLIC_KEY.subarray(1)])))).toThrow(
      /34 bytes/,
    );
    // x = 5 is not the x coordinate of any secp256k1 point (5^3 + 7 = 132 is not a square mod p).
    const offCurve = Buffer.alloc(32);
    offCurve[31] = 5;
    expect(() => decodeAuthorityKey(base58check.encode(Buffer.concat([Buffer.of(1, 0), offCurve])))).toThrow(/not a valid secp256k1/);
    expect(() => encodeAuthorityKey(Buffer.alloc(33))).toThrow(AuthorityKeyError);
  });
});

describe('isCurveX (the on-curve test without the curve library)', () => {
  const P = 2n ** 256n - 2n ** 32n - 977n;
  const noble = (x: bigint) => {
    try {
      schnorr.utils.lift_x(x);
      return true;
    } catch {
      return false;
    }
  };

  it('agrees with @noble/curves lift_x on 400 random x and the edges', () => {
    const xs = [0n, 1n, 2n, 7n, P - 1n, P, P + 1n, 2n ** 256n - 1n];
    for (let i = 0; i < 400; i++) xs.push(BigInt(`0x${randomBytes(32).toString('hex')}`));
    const outcomes = xs.map((x) => [x, isCurveX(x)] as const);
    expect(outcomes).toEqual(xs.map((x) => [x, noble(x)] as const));
    // Both answers occur (about half of all x are on the curve): the test can fail either way.
    expect(new Set(outcomes.map(([, valid]) => valid)).size).toBe(2);
  });

  it('a key of a real key pair passes; its neighbour that is off the curve is refused', () => {
    const key = generateKeyPair().publicKey;
    expect(isCurveX(BigInt(`0x${Buffer.from(key).toString('hex')}`))).toBe(true);
    let off = BigInt(`0x${Buffer.from(key).toString('hex')}`) + 1n;
    while (noble(off)) off++;
    expect(isCurveX(off)).toBe(false);
    expect(() => decodeAuthorityKey(encodeAuthorityKey(Buffer.from(off.toString(16).padStart(64, '0'), 'hex')))).toThrow(AuthorityKeyError);
  });
});
