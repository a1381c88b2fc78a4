import { createCipheriv, createHash } from 'node:crypto';
import {
  ACT1_SIZE,
  ACT2_SIZE,
  bip340Verify,
  certificateDigest,
  CipherState,
  decodeSignatureNoiseMessage,
  encodeSignatureNoiseMessage,
  generateKeyPair,
  keyPairFromSecret,
  NoiseInitiator,
  NoiseResponder,
  signCertificate,
  Sv2NoiseError,
  verifyCertificate,
  type NoiseErrorKind,
  type SignatureNoiseMessage,
  type Sv2KeyPair,
} from './noise.js';

const NOW = 1_780_000_000;
const key = (byte: number) => Buffer.alloc(32, byte);

/** A test pool's identity: an authority key and a server static key it certified. */
function poolIdentity(
  validFrom = NOW - 3600,
  notValidAfter = NOW + 3600,
): { authority: Sv2KeyPair; server: Sv2KeyPair; certificate: SignatureNoiseMessage } {
  const authority = generateKeyPair();
  const server = generateKeyPair();
  const certificate = signCertificate({ version: 0, validFrom, notValidAfter }, server.publicKey, authority.secretKey);
  return { authority, server, certificate };
}

function kindOf(run: () => unknown): NoiseErrorKind | 'no error' {
  try {
    run();
    return 'no error';
  } catch (error) {
    if (error instanceof Sv2NoiseError) return error.kind;
    throw error;
  }
}

describe('CipherState', () => {
  it('ChaCha20-Poly1305 with nonce = 4 zero bytes + little-endian u64 counter, 16-byte tag after the ciphertext', () => {
    const state = new CipherState(key(7));
    const ad = Buffer.from('ad');
    const plaintext = Buffer.from('stratum v2');
    state.encryptWithAd(ad, Buffer.alloc(0)); // nonce 0
    const second = state.encryptWithAd(ad, plaintext); // nonce 1
    const nonce = Buffer.from('000000000100000000000000', 'hex');
    const reference = createCipheriv('chacha20-poly1305', key(7), nonce, { authTagLength: 16 });
    reference.setAAD(ad, { plaintextLength: plaintext.length });
    const expected = Buffer.concat([reference.update(plaintext), reference.final(), reference.getAuthTag()]);
    expect(second.toString('hex')).toBe(expected.toString('hex'));
    expect(second).toHaveLength(plaintext.length + 16);
    expect(state.nonce).toBe(2n);
  });

  it('decrypts in step with the sender; a failed MAC does not advance the nonce', () => {
    const sender = new CipherState(key(1));
    const receiver = new CipherState(key(1));
    const first = sender.encryptWithAd(Buffer.alloc(0), Buffer.from('one'));
    const tampered = Buffer.from(first);
    tampered[0] ^= 1;
    expect(kindOf(() => receiver.decryptWithAd(Buffer.alloc(0), tampered))).toBe('decryption-failed');
    expect(receiver.nonce).toBe(0n);
    expect(receiver.decryptWithAd(Buffer.alloc(0), first).toString()).toBe('one');
    // The associated data is authenticated too.
    const second = sender.encryptWithAd(Buffer.from('a'), Buffer.from('two'));
    expect(kindOf(() => receiver.decryptWithAd(Buffer.from('b'), second))).toBe('decryption-failed');
    expect(kindOf(() => receiver.decryptWithAd(Buffer.alloc(0), Buffer.alloc(15)))).toBe('malformed');
  });
});

describe('certificates (SIGNATURE_NOISE_MESSAGE)', () => {
  it('is 74 bytes: version U16, valid_from U32, not_valid_after U32, signature 64, little-endian', () => {
    const message = { version: 1, validFrom: 0x01020304, notValidAfter: 0x05060708, signature: Buffer.alloc(64, 9) };
    const bytes = encodeSignatureNoiseMessage(message);
    expect(bytes.subarray(0, 10).toString('hex')).toBe('0100' + '04030201' + '08070605');
    expect(bytes).toHaveLength(74);
    expect(decodeSignatureNoiseMessage(bytes)).toEqual(message);
    expect(kindOf(() => decodeSignatureNoiseMessage(bytes.subarray(0, 73)))).toBe('malformed');
  });

  it('signs SHA256(version || valid_from || not_valid_after || server x-only key) with BIP340', () => {
    const { authority, server, certificate } = poolIdentity();
    const digest = createHash('sha256').update(encodeSignatureNoiseMessage(certificate).subarray(0, 10)).update(server.publicKey).digest();
    expect(certificateDigest(certificate, server.publicKey).equals(digest)).toBe(true);
    expect(bip340Verify(certificate.signature, digest, authority.publicKey)).toBe(true);
  });

  it('is valid from valid_from to not_valid_after inclusive, and only for the key and authority it names', () => {
    const { authority, server, certificate } = poolIdentity(NOW, NOW + 100);
    const verify = (now: number, serverKey = server.publicKey, authorityKey = authority.publicKey) =>
      kindOf(() => verifyCertificate(certificate, serverKey, authorityKey, now));
    expect(verify(NOW)).toBe('no error');
    expect(verify(NOW + 100)).toBe('no error');
    expect(verify(NOW - 1)).toBe('certificate-not-yet-valid');
    expect(verify(NOW + 101)).toBe('certificate-expired');
    expect(verify(NOW, generateKeyPair().publicKey)).toBe('bad-signature');
    expect(verify(NOW, server.publicKey, generateKeyPair().publicKey)).toBe('bad-signature');
    const forged = { ...certificate, notValidAfter: NOW + 1_000_000 };
    expect(kindOf(() => verifyCertificate(forged, server.publicKey, authority.publicKey, NOW))).toBe('bad-signature');
  });
});

describe('Noise NX handshake', () => {
  function handshake(options: { authorityKey?: Buffer; now?: number; identity?: ReturnType<typeof poolIdentity> } = {}) {
    const identity = options.identity ?? poolIdentity();
    const initiator = new NoiseInitiator({ authorityPublicKey: options.authorityKey ?? identity.authority.publicKey });
    const responder = new NoiseResponder({ staticKey: identity.server, certificate: identity.certificate });
    const act1 = initiator.writeAct1();
    const { act2, session: pool } = responder.readAct1(act1);
    return { identity, initiator, act1, act2, pool, finish: (bytes = act2) => initiator.readAct2(bytes, options.now ?? NOW) };
  }

  it('acts are 64 and 234 bytes; both sides end with the same hash and crossed transport keys', () => {
    const { identity, act1, act2, pool, finish } = handshake();
    expect(act1).toHaveLength(ACT1_SIZE);
    expect(act2).toHaveLength(ACT2_SIZE);
    expect(ACT2_SIZE).toBe(234);
    const proxy = finish();
    expect(proxy.handshakeHash.equals(pool.handshakeHash)).toBe(true);
    expect(proxy.responderStaticKey.equals(identity.server.publicKey)).toBe(true);
    const toPool = proxy.sender.encryptWithAd(Buffer.alloc(0), Buffer.from('to pool'));
    expect(pool.receiver.decryptWithAd(Buffer.alloc(0), toPool).toString()).toBe('to pool');
    const toProxy = pool.sender.encryptWithAd(Buffer.alloc(0), Buffer.from('to proxy'));
    expect(proxy.receiver.decryptWithAd(Buffer.alloc(0), toProxy).toString()).toBe('to proxy');
    // The two directions use different keys: a message cannot be reflected back to its sender.
    const reflected = proxy.sender.encryptWithAd(Buffer.alloc(0), Buffer.from('echo'));
    expect(kindOf(() => proxy.receiver.decryptWithAd(Buffer.alloc(0), reflected))).toBe('decryption-failed');
  });

  it('every session is keyed afresh (new ephemeral keys each time)', () => {
    const identity = poolIdentity();
    const a = handshake({ identity });
    const b = handshake({ identity });
    expect(a.act1.equals(b.act1)).toBe(false);
    expect(a.finish().handshakeHash.equals(b.finish().handshakeHash)).toBe(false);
  });

  it('a wrong authority key is refused as a bad signature', () => {
    const { finish } = handshake({ authorityKey: generateKeyPair().publicKey });
    expect(kindOf(() => finish())).toBe('bad-signature');
  });

  it('an expired or not yet valid certificate is refused', () => {
    expect(kindOf(() => handshake({ identity: poolIdentity(NOW - 7200, NOW - 1) }).finish())).toBe('certificate-expired');
    expect(kindOf(() => handshake({ identity: poolIdentity(NOW + 60, NOW + 7200) }).finish())).toBe('certificate-not-yet-valid');
  });

  it('a certificate for another server key is refused (a pool cannot lend its certificate)', () => {
    const identity = poolIdentity();
    const impostor = { ...identity, server: generateKeyPair() };
    expect(kindOf(() => handshake({ identity: impostor }).finish())).toBe('bad-signature');
  });

  it('any tampered byte of act 2 fails: the ephemeral key, the encrypted static key or the certificate', () => {
    for (const offset of [0, 63, 64, 100, 143, 144, 200, 233]) {
      const { act2, finish } = handshake();
      const tampered = Buffer.from(act2);
      tampered[offset] ^= 0x40;
      expect(
        kindOf(() => finish(tampered)),
        `byte ${offset}`,
      ).toBe('decryption-failed');
    }
  });

  it('a tampered act 1 leaves the two sides with different keys: act 2 does not decrypt', () => {
    const identity = poolIdentity();
    const initiator = new NoiseInitiator({ authorityPublicKey: identity.authority.publicKey });
    const act1 = initiator.writeAct1();
    act1[10] ^= 1;
    const { act2 } = new NoiseResponder({ staticKey: identity.server, certificate: identity.certificate }).readAct1(act1);
    expect(kindOf(() => initiator.readAct2(act2, NOW))).toBe('decryption-failed');
  });

  it('wrong lengths and out-of-order calls are malformed, and a handshake is single use', () => {
    const identity = poolIdentity();
    const { act2, finish } = handshake({ identity });
    expect(kindOf(() => finish(act2.subarray(0, 170)))).toBe('malformed');
    expect(kindOf(() => finish(act2))).toBe('malformed'); // already failed once: never retried on the same state
    const initiator = new NoiseInitiator({ authorityPublicKey: identity.authority.publicKey });
    expect(kindOf(() => initiator.readAct2(act2, NOW))).toBe('malformed');
    initiator.writeAct1();
    expect(kindOf(() => initiator.writeAct1())).toBe('malformed');
    const responder = new NoiseResponder({ staticKey: identity.server, certificate: identity.certificate });
    expect(kindOf(() => responder.readAct1(Buffer.alloc(63)))).toBe('malformed');
  });

  it('fixed ephemeral keys (tests) give a reproducible handshake hash only with the same encodings', () => {
    const identity = poolIdentity();
    const initiator = new NoiseInitiator({ authorityPublicKey: identity.authority.publicKey, ephemeralSecretKey: key(3) });
    const act1 = initiator.writeAct1();
    const { act2, session } = new NoiseResponder({
      staticKey: keyPairFromSecret(identity.server.secretKey),
      certificate: identity.certificate,
      ephemeralSecretKey: key(4),
    }).readAct1(act1);
    expect(initiator.readAct2(act2, NOW).handshakeHash.equals(session.handshakeHash)).toBe(true);
  });
});
