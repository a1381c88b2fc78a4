/**
 * What the SV2 transport needs of Noise once the handshake is done: the message sizes, the error type and
 * the CipherState (ChaCha20-Poly1305 from node:crypto). Apart from noise.ts so that the curve libraries the
 * handshake needs are loaded only when an SV2 pool is used.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const ELLSWIFT_SIZE = 64;
export const MAC_SIZE = 16;
export const SIGNATURE_NOISE_MESSAGE_SIZE = 74;
/** Act 1: the initiator's ephemeral key. */
export const ACT1_SIZE = ELLSWIFT_SIZE;
/** Act 2: e, encrypted s, encrypted SIGNATURE_NOISE_MESSAGE (older spec text says 170, from 32-byte keys). */
export const ACT2_SIZE = ELLSWIFT_SIZE + ELLSWIFT_SIZE + MAC_SIZE + SIGNATURE_NOISE_MESSAGE_SIZE + MAC_SIZE;

export type NoiseErrorKind =
  /** The certificate is not signed by the authority key we trust for this pool. */
  | 'bad-signature'
  | 'certificate-expired'
  | 'certificate-not-yet-valid'
  /** A MAC did not verify: tampered or corrupted bytes, or keys that do not match. */
  | 'decryption-failed'
  /** Wrong length, a key that is not on the curve, a message out of order. */
  | 'malformed';

/** Every handshake and transport failure; the kind says which, for logs and close reasons. */
export class Sv2NoiseError extends Error {
  override readonly name = 'Sv2NoiseError';

  constructor(
    readonly kind: NoiseErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const MAX_NONCE = 0xffffffffffffffffn;

/**
 * One direction's AEAD key and nonce counter. The nonce is 4 zero bytes then the counter as a little-endian
 * u64 (the Noise convention); a failed decryption does not advance it.
 */
export class CipherState {
  private counter = 0n;
  private readonly key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError(`CipherState key must be 32 bytes, got ${key.length}`);
    this.key = Buffer.from(key);
  }

  /** The next nonce to be used. */
  get nonce(): bigint {
    return this.counter;
  }

  private nextNonce(): Buffer {
    // 2^64-1 is reserved by Noise; reaching it would take centuries of frames, but never wrap silently.
    if (this.counter >= MAX_NONCE) throw new Sv2NoiseError('malformed', 'nonce exhausted: the session must be rekeyed');
    const nonce = Buffer.alloc(12);
    nonce.writeBigUInt64LE(this.counter, 4);
    return nonce;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Buffer {
    const cipher = createCipheriv('chacha20-poly1305', this.key, this.nextNonce(), { authTagLength: MAC_SIZE });
    cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const out = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    this.counter++;
    return out;
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Buffer {
    if (ciphertext.length < MAC_SIZE)
      throw new Sv2NoiseError('malformed', `ciphertext of ${ciphertext.length} bytes is shorter than its MAC`);
    const body = ciphertext.subarray(0, ciphertext.length - MAC_SIZE);
    const decipher = createDecipheriv('chacha20-poly1305', this.key, this.nextNonce(), { authTagLength: MAC_SIZE });
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - MAC_SIZE));
    decipher.setAAD(ad, { plaintextLength: body.length });
    let out: Buffer;
    try {
      out = Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      throw new Sv2NoiseError('decryption-failed', `MAC check failed at nonce ${this.counter}`);
    }
    this.counter++;
    return out;
  }
}
