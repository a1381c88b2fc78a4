import fc from 'fast-check';
import { Sv2DecodeError } from './codec.js';
import { FrameTooLargeError, type Sv2Frame } from './frame.js';
import { decodeMessage, encodeMessage } from './messages.js';
import {
  CipherState,
  generateKeyPair,
  NoiseInitiator,
  NoiseResponder,
  signCertificate,
  Sv2NoiseError,
  type NoiseSession,
} from './noise.js';
import {
  ciphertextLength,
  ENCRYPTED_HEADER_SIZE,
  MAX_CIPHERTEXT_CHUNK,
  MAX_PLAINTEXT_CHUNK,
  Sv2TransportDecoder,
  Sv2TransportEncoder,
} from './transport.js';

const NOW = 1_780_000_000;

/** A real handshake: the proxy's and the pool's sessions. */
function sessions(): { proxy: NoiseSession; pool: NoiseSession } {
  const authority = generateKeyPair();
  const server = generateKeyPair();
  const certificate = signCertificate({ version: 0, validFrom: NOW - 60, notValidAfter: NOW + 60 }, server.publicKey, authority.secretKey);
  const initiator = new NoiseInitiator({ authorityPublicKey: authority.publicKey });
  const { act2, session: pool } = new NoiseResponder({ staticKey: server, certificate }).readAct1(initiator.writeAct1());
  return { proxy: initiator.readAct2(act2, NOW), pool };
}

/** Feeds `bytes` cut at `cuts` (offsets in any order), collecting the frames. */
function feedSplit(decoder: Sv2TransportDecoder, bytes: Buffer, cuts: readonly number[]): Sv2Frame[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, bytes.length)))].sort((a, b) => a - b);
  const frames: Sv2Frame[] = [];
  let start = 0;
  for (const end of [...points, bytes.length]) {
    frames.push(...decoder.push(bytes.subarray(start, end)));
    start = end;
  }
  return frames;
}

const frame = (payloadLength: number, fill = 0x5a): Sv2Frame => ({
  extensionType: 0x8000,
  msgType: 0x1f,
  payload: Buffer.alloc(payloadLength, fill),
});

describe('encrypted SV2 transport', () => {
  it('ciphertext length: 22-byte header, then 16 bytes of MAC per started 65,519-byte chunk, none for an empty payload', () => {
    expect(ENCRYPTED_HEADER_SIZE).toBe(22);
    expect([MAX_PLAINTEXT_CHUNK, MAX_CIPHERTEXT_CHUNK]).toEqual([65519, 65535]);
    expect(ciphertextLength(0)).toBe(0);
    expect(ciphertextLength(1)).toBe(17);
    expect(ciphertextLength(65519)).toBe(65535);
    expect(ciphertextLength(65520)).toBe(65535 + 17);
    expect(ciphertextLength(70000)).toBe(65535 + (70000 - 65519) + 16);
  });

  it('encodes the header alone, then each payload chunk with its own nonce and MAC', () => {
    const { proxy, pool } = sessions();
    const bytes = new Sv2TransportEncoder(proxy.sender).encode(frame(70_000));
    expect(bytes).toHaveLength(22 + 65535 + 4481 + 16);
    expect(proxy.sender.nonce).toBe(3n); // header, chunk 1, chunk 2
    // Decrypt piece by piece with the pool's receiving cipher, as the spec lays the frame out.
    const header = pool.receiver.decryptWithAd(Buffer.alloc(0), bytes.subarray(0, 22));
    expect(header.toString('hex')).toBe('00801f' + '701101'); // msg_length 70,000 = 0x011170: the plaintext length
    expect(pool.receiver.decryptWithAd(Buffer.alloc(0), bytes.subarray(22, 22 + 65535))).toHaveLength(65519);
    expect(pool.receiver.decryptWithAd(Buffer.alloc(0), bytes.subarray(22 + 65535))).toHaveLength(4481);
  });

  it('an empty payload is the 22-byte header only', () => {
    const { proxy, pool } = sessions();
    const bytes = new Sv2TransportEncoder(proxy.sender).encode({ extensionType: 0, msgType: 0x01, payload: Buffer.alloc(0) });
    expect(bytes).toHaveLength(22);
    expect(new Sv2TransportDecoder(pool.receiver).push(bytes)).toEqual([{ extensionType: 0, msgType: 0x01, payload: Buffer.alloc(0) }]);
  });

  it('frames both ways after a real handshake, including one longer than a chunk, fed split at arbitrary points', () => {
    const { proxy, pool } = sessions();
    const up = new Sv2TransportEncoder(proxy.sender);
    const down = new Sv2TransportEncoder(pool.sender);
    const poolDecoder = new Sv2TransportDecoder(pool.receiver);
    const proxyDecoder = new Sv2TransportDecoder(proxy.receiver);
    const setup = encodeMessage({
      type: 'SetupConnection',
      protocol: 0,
      minVersion: 2,
      maxVersion: 2,
      flags: 4,
      endpointHost: 'pool.example',
      endpointPort: 3333,
      vendor: 'stratum-proxy',
      hardwareVersion: '',
      firmware: '',
      deviceId: '',
    });
    const upFrames = [setup, frame(70_000, 1), frame(0), frame(65519, 2), frame(65520, 3)];
    const upBytes = Buffer.concat(upFrames.map((f) => up.encode(f)));
    const cuts = [1, 21, 22, 23, 500, 22 + 65535, 70_001, 100_000, 140_000, upBytes.length - 1];
    expect(feedSplit(poolDecoder, upBytes, cuts)).toEqual(upFrames);
    expect(decodeMessage(upFrames[0])).toMatchObject({ type: 'SetupConnection', endpointHost: 'pool.example' });

    const success = encodeMessage({ type: 'SetupConnection.Success', usedVersion: 2, flags: 0 });
    const downFrames = [success, frame(70_000, 4)];
    const downBytes = Buffer.concat(downFrames.map((f) => down.encode(f)));
    // One byte at a time: the worst TCP can do.
    const received: Sv2Frame[] = [];
    for (let i = 0; i < downBytes.length; i++) received.push(...proxyDecoder.push(downBytes.subarray(i, i + 1)));
    expect(received).toEqual(downFrames);
    expect(proxyDecoder.buffered).toBe(0);
  });

  it('property: the frames do not depend on where the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(12_000), { maxLength: 10 }),
        (lengths, cuts) => {
          const key = Buffer.alloc(32, 9);
          const frames = lengths.map((length, i) => frame(length, i));
          const encoder = new Sv2TransportEncoder(new CipherState(key));
          const stream = Buffer.concat(frames.map((f) => encoder.encode(f)));
          expect(stream).toHaveLength(lengths.reduce((sum, length) => sum + 22 + ciphertextLength(length), 0));
          expect(feedSplit(new Sv2TransportDecoder(new CipherState(key)), stream, cuts)).toEqual(frames);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a tampered byte anywhere (header, first or last chunk) fails with a decryption error, and the decoder stays failed', () => {
    for (const offset of [0, 21, 22, 30_000, 22 + 65535, 22 + 65535 + 4496]) {
      const { proxy, pool } = sessions();
      const bytes = new Sv2TransportEncoder(proxy.sender).encode(frame(70_000));
      bytes[offset] ^= 0x01;
      const decoder = new Sv2TransportDecoder(pool.receiver);
      let error: unknown;
      try {
        decoder.push(bytes);
      } catch (caught) {
        error = caught;
      }
      expect(error, `byte ${offset}`).toBeInstanceOf(Sv2NoiseError);
      expect((error as Sv2NoiseError).kind).toBe('decryption-failed');
      expect(() => decoder.push(Buffer.alloc(1))).toThrow(Sv2NoiseError);
    }
  });

  it('frames replayed, reordered or from the other direction fail their MAC', () => {
    const { proxy, pool } = sessions();
    const encoder = new Sv2TransportEncoder(proxy.sender);
    const first = encoder.encode(frame(10));
    const second = encoder.encode(frame(10));
    expect(() => new Sv2TransportDecoder(pool.receiver).push(second)).toThrow(Sv2NoiseError);
    const fresh = sessions();
    const decoder = new Sv2TransportDecoder(fresh.pool.receiver);
    const bytes = new Sv2TransportEncoder(fresh.proxy.sender).encode(frame(10));
    expect(decoder.push(bytes)).toHaveLength(1);
    expect(() => decoder.push(bytes)).toThrow(Sv2NoiseError); // replay
    expect(() => new Sv2TransportDecoder(proxy.receiver).push(first)).toThrow(Sv2NoiseError); // reflected
  });

  it('property: random bytes give a decryption or size error, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          new Sv2TransportDecoder(new CipherState(Buffer.alloc(32, 9))).push(bytes);
        } catch (error) {
          if (!(error instanceof Sv2NoiseError) && !(error instanceof Sv2DecodeError)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a frame over the size limit from its header alone, before buffering its payload', () => {
    const { proxy, pool } = sessions();
    const bytes = new Sv2TransportEncoder(proxy.sender).encode(frame(70_000));
    const decoder = new Sv2TransportDecoder(pool.receiver, 65_536);
    expect(() => decoder.push(bytes.subarray(0, 22))).toThrow(FrameTooLargeError);
    expect(() => decoder.push(bytes.subarray(22))).toThrow(FrameTooLargeError);
  });
});
