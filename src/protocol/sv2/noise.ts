/**
 * The SV2 handshake, Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256 (04-Protocol-Security 4.4-4.5): the
 * initiator (the proxy) and the responder (a pool; here for test pools), and the CipherState that encrypts
 * the transport afterwards. Curve work is done by @noble/curves (BIP340) and @scure/btc-signer (BIP324
 * ElligatorSwift); hashing, HKDF and ChaCha20-Poly1305 by node:crypto.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { elligatorSwift } from '@scure/btc-signer/p2p.js';
import { ACT1_SIZE, ACT2_SIZE, CipherState, ELLSWIFT_SIZE, MAC_SIZE, SIGNATURE_NOISE_MESSAGE_SIZE, Sv2NoiseError } from './cipher-state.js';
import { Sv2Reader, Sv2Writer } from './codec.js';

export const NOISE_PROTOCOL_NAME = 'Noise_NX_Secp256k1+EllSwift_ChaChaPoly_SHA256';
export {
  ACT1_SIZE,
  ACT2_SIZE,
  CipherState,
  ELLSWIFT_SIZE,
  MAC_SIZE,
  SIGNATURE_NOISE_MESSAGE_SIZE,
  Sv2NoiseError,
  type NoiseErrorKind,
} from './cipher-state.js';

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** Noise HKDF with two outputs: RFC 5869 with the chaining key as salt and an empty info. */
function hkdf2(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array): [Buffer, Buffer] {
  const out = Buffer.from(hkdfSync('sha256', inputKeyMaterial, chainingKey, Buffer.alloc(0), 64));
  return [out.subarray(0, 32), out.subarray(32, 64)];
}

// ---- Keys: secp256k1 with x-only public keys, sent ElligatorSwift-encoded (BIP324) ----

export interface Sv2KeyPair {
  readonly secretKey: Buffer;
  /** x-only (32 bytes, BIP340): what certificates sign and authority keys publish. */
  readonly publicKey: Buffer;
}

export function keyPairFromSecret(secretKey: Uint8Array): Sv2KeyPair {
  if (secretKey.length !== 32) throw new RangeError('secret key must be 32 bytes');
  return { secretKey: Buffer.from(secretKey), publicKey: Buffer.from(schnorr.getPublicKey(secretKey)) };
}

export function generateKeyPair(): Sv2KeyPair {
  return keyPairFromSecret(secp256k1.utils.randomSecretKey());
}

/** A fresh, uniformly random-looking 64-byte encoding of an x-only key (each call gives another one). */
export function ellswiftEncode(xOnly: Uint8Array): Buffer {
  if (xOnly.length !== 32) throw new RangeError('x-only key must be 32 bytes');
  return Buffer.from(elligatorSwift.encode(BigInt(`0x${Buffer.from(xOnly).toString('hex')}`)));
}

/** The x-only key of a 64-byte encoding. Every 64-byte string decodes (BIP324), so this only fails on length. */
export function ellswiftDecode(encoding: Uint8Array): Buffer {
  if (encoding.length !== ELLSWIFT_SIZE)
    throw new Sv2NoiseError('malformed', `ElligatorSwift key must be 64 bytes, got ${encoding.length}`);
  try {
    return Buffer.from(elligatorSwift.decode(encoding));
  } catch (error) {
    throw new Sv2NoiseError('malformed', `ElligatorSwift key does not decode: ${(error as Error).message}`);
  }
}

/** BIP324 ellswift_ecdh_xonly: the x coordinate of secret * their point. */
export function ellswiftEcdhXonly(secretKey: Uint8Array, theirEncoding: Uint8Array): Buffer {
  return Buffer.from(elligatorSwift.getSharedSecret(secretKey, theirEncoding));
}

/**
 * The spec's ECDH (BIP324 v2_ecdh): a tagged hash of both encodings and the shared x, the initiator's encoding
 * first, so both sides get the same secret only when each passes its own role.
 */
export function v2Ecdh(secretKey: Uint8Array, ourEncoding: Uint8Array, theirEncoding: Uint8Array, initiator: boolean): Buffer {
  if (theirEncoding.length !== ELLSWIFT_SIZE)
    throw new Sv2NoiseError('malformed', `ElligatorSwift key must be 64 bytes, got ${theirEncoding.length}`);
  try {
    return Buffer.from(elligatorSwift.getSharedSecretBip324(secretKey, theirEncoding, ourEncoding, initiator));
  } catch (error) {
    throw new Sv2NoiseError('malformed', `ECDH failed: ${(error as Error).message}`);
  }
}

/** BIP340 signature of a message (any length; certificates sign a 32-byte digest). */
export function bip340Sign(message: Uint8Array, secretKey: Uint8Array, auxRand?: Uint8Array): Buffer {
  return Buffer.from(schnorr.sign(message, secretKey, auxRand));
}

/** BIP340 verification; false (never a throw) for malformed signatures or keys off the curve. */
export function bip340Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return schnorr.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

// ---- The certificate: SIGNATURE_NOISE_MESSAGE plus the server's static key ----

export const CERTIFICATE_VERSION = 0;

export interface SignatureNoiseMessage {
  readonly version: number;
  /** Unix seconds. */
  readonly validFrom: number;
  /** Unix seconds, inclusive. */
  readonly notValidAfter: number;
  /** BIP340 by the authority key over certificateDigest(). */
  readonly signature: Buffer;
}

export type CertificateFields = Omit<SignatureNoiseMessage, 'signature'>;

export function encodeSignatureNoiseMessage(message: SignatureNoiseMessage): Buffer {
  if (message.signature.length !== 64) throw new RangeError('signature must be 64 bytes');
  return new Sv2Writer().u16(message.version).u32(message.validFrom).u32(message.notValidAfter).bytesFixed(message.signature).finish();
}

export function decodeSignatureNoiseMessage(bytes: Uint8Array): SignatureNoiseMessage {
  if (bytes.length !== SIGNATURE_NOISE_MESSAGE_SIZE) {
    throw new Sv2NoiseError('malformed', `SIGNATURE_NOISE_MESSAGE must be ${SIGNATURE_NOISE_MESSAGE_SIZE} bytes, got ${bytes.length}`);
  }
  const reader = new Sv2Reader(bytes);
  return { version: reader.u16(), validFrom: reader.u32(), notValidAfter: reader.u32(), signature: reader.bytesFixed(64) };
}

/** m = SHA256(version || valid_from || not_valid_after || server static key x-only), the signed message. */
export function certificateDigest(fields: CertificateFields, serverStaticKey: Uint8Array): Buffer {
  if (serverStaticKey.length !== 32) throw new RangeError('server static key must be x-only (32 bytes)');
  const head = new Sv2Writer().u16(fields.version).u32(fields.validFrom).u32(fields.notValidAfter).finish();
  return sha256(head, serverStaticKey);
}

/** What a pool operator does once per server key: the authority signs the server's static key for a period. */
export function signCertificate(
  fields: CertificateFields,
  serverStaticKey: Uint8Array,
  authoritySecretKey: Uint8Array,
  auxRand?: Uint8Array,
): SignatureNoiseMessage {
  return { ...fields, signature: bip340Sign(certificateDigest(fields, serverStaticKey), authoritySecretKey, auxRand) };
}

/** Throws Sv2NoiseError ('bad-signature', 'certificate-not-yet-valid', 'certificate-expired') unless valid at `nowSeconds`. */
export function verifyCertificate(
  certificate: SignatureNoiseMessage,
  serverStaticKey: Uint8Array,
  authorityPublicKey: Uint8Array,
  nowSeconds: number,
): void {
  if (!bip340Verify(certificate.signature, certificateDigest(certificate, serverStaticKey), authorityPublicKey))
    throw new Sv2NoiseError('bad-signature', "the pool's certificate is not signed by the configured authority key");
  if (nowSeconds < certificate.validFrom) {
    throw new Sv2NoiseError('certificate-not-yet-valid', `certificate valid from ${certificate.validFrom}, now is ${nowSeconds}`);
  }
  if (nowSeconds > certificate.notValidAfter) {
    throw new Sv2NoiseError('certificate-expired', `certificate expired at ${certificate.notValidAfter}, now is ${nowSeconds}`);
  }
}

// ---- The handshake ----

/** Both transport directions after the handshake, and what it established. */
export interface NoiseSession {
  /** Encrypts what this side sends. */
  readonly sender: CipherState;
  /** Decrypts what this side receives. */
  readonly receiver: CipherState;
  /** The final handshake hash h: identical on both sides, usable to bind the session. */
  readonly handshakeHash: Buffer;
  /** The responder's static key, x-only (the key the certificate vouches for). */
  readonly responderStaticKey: Buffer;
}

/** h, ck and the handshake cipher (Noise's SymmetricState). */
class HandshakeState {
  private h: Buffer;
  private ck: Buffer;
  private cipher: CipherState | null = null;

  constructor() {
    // The protocol name is longer than 32 bytes, so it is hashed (4.5.1); h is then hashed once more.
    this.ck = sha256(Buffer.from(NOISE_PROTOCOL_NAME, 'ascii'));
    this.h = sha256(this.ck);
  }

  get hash(): Buffer {
    return this.h;
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(this.h, data);
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, key] = hkdf2(this.ck, inputKeyMaterial);
    this.ck = ck;
    this.cipher = new CipherState(key);
  }

  encryptAndHash(plaintext: Uint8Array): Buffer {
    const ciphertext = this.cipher ? this.cipher.encryptWithAd(this.h, plaintext) : Buffer.from(plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Buffer {
    const plaintext = this.cipher ? this.cipher.decryptWithAd(this.h, ciphertext) : Buffer.from(ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** The two transport ciphers: initiator -> responder first. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf2(this.ck, Buffer.alloc(0));
    return [new CipherState(k1), new CipherState(k2)];
  }
}

export interface NoiseInitiatorOptions {
  /** The pool's authority key, x-only: decodeAuthorityKey() of the string the pool publishes. */
  readonly authorityPublicKey: Uint8Array;
  /** Tests only: a fixed ephemeral key instead of a fresh one. */
  readonly ephemeralSecretKey?: Uint8Array;
}

/** The proxy's side: writeAct1(), send it, then readAct2() on the 234 bytes the pool answers. Single use. */
export class NoiseInitiator {
  private readonly state = new HandshakeState();
  private readonly ephemeral: Sv2KeyPair;
  private readonly authorityPublicKey: Buffer;
  private ephemeralEncoding: Buffer | null = null;
  private stage: 'start' | 'act1-sent' | 'done' = 'start';

  constructor(options: NoiseInitiatorOptions) {
    if (options.authorityPublicKey.length !== 32) throw new RangeError('authority public key must be x-only (32 bytes)');
    this.authorityPublicKey = Buffer.from(options.authorityPublicKey);
    this.ephemeral = options.ephemeralSecretKey ? keyPairFromSecret(options.ephemeralSecretKey) : generateKeyPair();
  }

  /** -> e */
  writeAct1(): Buffer {
    if (this.stage !== 'start') throw new Sv2NoiseError('malformed', 'act 1 already written');
    this.stage = 'act1-sent';
    this.ephemeralEncoding = ellswiftEncode(this.ephemeral.publicKey);
    this.state.mixHash(this.ephemeralEncoding);
    this.state.encryptAndHash(Buffer.alloc(0));
    return Buffer.from(this.ephemeralEncoding);
  }

  /** <- e, ee, s, es, SIGNATURE_NOISE_MESSAGE; then the pool's certificate is checked against `nowSeconds`. */
  readAct2(message: Uint8Array, nowSeconds: number): NoiseSession {
    if (this.stage !== 'act1-sent' || !this.ephemeralEncoding) throw new Sv2NoiseError('malformed', 'act 2 read out of order');
    // Whatever happens next, this handshake is over: a retry needs a new initiator and a new connection.
    this.stage = 'done';
    if (message.length !== ACT2_SIZE) throw new Sv2NoiseError('malformed', `act 2 must be ${ACT2_SIZE} bytes, got ${message.length}`);
    const reader = new Sv2Reader(message);
    const remoteEphemeral = reader.bytesFixed(ELLSWIFT_SIZE);
    this.state.mixHash(remoteEphemeral);
    this.state.mixKey(v2Ecdh(this.ephemeral.secretKey, this.ephemeralEncoding, remoteEphemeral, true));
    const remoteStatic = this.state.decryptAndHash(reader.bytesFixed(ELLSWIFT_SIZE + MAC_SIZE));
    this.state.mixKey(v2Ecdh(this.ephemeral.secretKey, this.ephemeralEncoding, remoteStatic, true));
    const certificate = decodeSignatureNoiseMessage(this.state.decryptAndHash(reader.bytesFixed(SIGNATURE_NOISE_MESSAGE_SIZE + MAC_SIZE)));
    const responderStaticKey = ellswiftDecode(remoteStatic);
    verifyCertificate(certificate, responderStaticKey, this.authorityPublicKey, nowSeconds);
    const [toResponder, toInitiator] = this.state.split();
    return { sender: toResponder, receiver: toInitiator, handshakeHash: this.state.hash, responderStaticKey };
  }
}

export interface NoiseResponderOptions {
  /** The server's long-lived static key. */
  readonly staticKey: Sv2KeyPair;
  /** signCertificate() of staticKey.publicKey by the pool's authority key. */
  readonly certificate: SignatureNoiseMessage;
  /** Tests only: a fixed ephemeral key instead of a fresh one. */
  readonly ephemeralSecretKey?: Uint8Array;
}

/** The pool's side (for test pools): readAct1() answers with act 2 and is then done. Single use. */
export class NoiseResponder {
  private readonly state = new HandshakeState();
  private readonly ephemeral: Sv2KeyPair;
  private stage: 'start' | 'done' = 'start';

  constructor(private readonly options: NoiseResponderOptions) {
    this.ephemeral = options.ephemeralSecretKey ? keyPairFromSecret(options.ephemeralSecretKey) : generateKeyPair();
  }

  /** -> e, then <- e, ee, s, es, SIGNATURE_NOISE_MESSAGE. */
  readAct1(message: Uint8Array): { readonly act2: Buffer; readonly session: NoiseSession } {
    if (this.stage !== 'start') throw new Sv2NoiseError('malformed', 'act 1 already read');
    this.stage = 'done';
    if (message.length !== ACT1_SIZE) throw new Sv2NoiseError('malformed', `act 1 must be ${ACT1_SIZE} bytes, got ${message.length}`);
    const remoteEphemeral = Buffer.from(message);
    this.state.mixHash(remoteEphemeral);
    this.state.decryptAndHash(Buffer.alloc(0));

    const ephemeralEncoding = ellswiftEncode(this.ephemeral.publicKey);
    this.state.mixHash(ephemeralEncoding);
    this.state.mixKey(v2Ecdh(this.ephemeral.secretKey, ephemeralEncoding, remoteEphemeral, false));
    const staticEncoding = ellswiftEncode(this.options.staticKey.publicKey);
    const encryptedStatic = this.state.encryptAndHash(staticEncoding);
    this.state.mixKey(v2Ecdh(this.options.staticKey.secretKey, staticEncoding, remoteEphemeral, false));
    const encryptedCertificate = this.state.encryptAndHash(encodeSignatureNoiseMessage(this.options.certificate));
    const [toResponder, toInitiator] = this.state.split();
    return {
      act2: Buffer.concat([ephemeralEncoding, encryptedStatic, encryptedCertificate]),
      session: {
        sender: toInitiator,
        receiver: toResponder,
        handshakeHash: this.state.hash,
        responderStaticKey: Buffer.from(this.options.staticKey.publicKey),
      },
    };
  }
}
