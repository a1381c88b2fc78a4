/**
 * Encrypted SV2 framing after the handshake (04-Protocol-Security 4.6): the 6-byte header encrypted alone
 * (22 bytes with its MAC), then the payload in chunks of at most 65,519 plaintext bytes, each with its own MAC
 * and nonce. msg_length in the header is the plaintext length; an empty payload has no ciphertext at all.
 */
import { ByteQueue } from './byte-queue.js';
import { Sv2EncodeError } from './codec.js';
import {
  decodeFrameHeader,
  DEFAULT_MAX_PAYLOAD,
  encodeFrameHeader,
  FRAME_HEADER_SIZE,
  FrameTooLargeError,
  MAX_PAYLOAD_LIMIT,
  type FrameHeader,
  type Sv2Frame,
} from './frame.js';
import { MAC_SIZE, Sv2NoiseError, type CipherState } from './cipher-state.js';

/** Noise's limit on one transport message. */
export const MAX_CIPHERTEXT_CHUNK = 65535;
export const MAX_PLAINTEXT_CHUNK = MAX_CIPHERTEXT_CHUNK - MAC_SIZE;
export const ENCRYPTED_HEADER_SIZE = FRAME_HEADER_SIZE + MAC_SIZE;

const NO_AD = Buffer.alloc(0);

/** The bytes a payload of `plaintextLength` takes on the wire (the spec's pt_len_to_ct_len). */
export function ciphertextLength(plaintextLength: number): number {
  const full = Math.floor(plaintextLength / MAX_PLAINTEXT_CHUNK);
  const rest = plaintextLength % MAX_PLAINTEXT_CHUNK;
  return full * MAX_CIPHERTEXT_CHUNK + (rest > 0 ? rest + MAC_SIZE : 0);
}

/** Frames to wire bytes with this side's sending cipher. Frames must be encoded in the order they are sent. */
export class Sv2TransportEncoder {
  constructor(private readonly cipher: CipherState) {}

  encode(frame: Sv2Frame): Buffer {
    const length = frame.payload.length;
    if (length > MAX_PAYLOAD_LIMIT) throw new Sv2EncodeError(`payload of ${length} bytes over U24`);
    const parts = [
      this.cipher.encryptWithAd(NO_AD, encodeFrameHeader({ extensionType: frame.extensionType, msgType: frame.msgType, length })),
    ];
    for (let offset = 0; offset < length; offset += MAX_PLAINTEXT_CHUNK) {
      parts.push(this.cipher.encryptWithAd(NO_AD, frame.payload.subarray(offset, Math.min(length, offset + MAX_PLAINTEXT_CHUNK))));
    }
    return Buffer.concat(parts);
  }
}

/**
 * Wire bytes, split anywhere, to frames with this side's receiving cipher. An oversized header is refused
 * before its payload is buffered. After any error (MAC failure, oversize) the decoder stays failed: the nonces
 * are out of step and the connection must be closed (frames of the same push before the bad one are dropped
 * with it: nothing from a stream that failed authentication is acted on).
 */
export class Sv2TransportDecoder {
  private readonly queue = new ByteQueue();
  private header: FrameHeader | null = null;
  private failure: Error | null = null;

  constructor(
    private readonly cipher: CipherState,
    private readonly maxPayload = DEFAULT_MAX_PAYLOAD,
  ) {
    if (maxPayload > MAX_PAYLOAD_LIMIT) throw new RangeError(`maxPayload over U24: ${maxPayload}`);
  }

  /** Ciphertext received and not yet decrypted into a returned frame (for buffer accounting). */
  get buffered(): number {
    return this.queue.length;
  }

  push(chunk: Uint8Array): Sv2Frame[] {
    if (this.failure) throw this.failure;
    this.queue.push(chunk);
    try {
      return this.drain();
    } catch (error) {
      this.failure = error as Error;
      this.queue.clear();
      throw error;
    }
  }

  private drain(): Sv2Frame[] {
    const frames: Sv2Frame[] = [];
    for (;;) {
      if (!this.header) {
        if (this.queue.length < ENCRYPTED_HEADER_SIZE) break;
        const header = decodeFrameHeader(this.decrypt(this.queue.take(ENCRYPTED_HEADER_SIZE)));
        if (header.length > this.maxPayload) throw new FrameTooLargeError(header.length, this.maxPayload);
        this.header = header;
      }
      // Wait for the whole payload: a partial chunk cannot be checked, and nothing unchecked is returned.
      if (this.queue.length < ciphertextLength(this.header.length)) break;
      const chunks: Buffer[] = [];
      for (let left = this.header.length; left > 0; left -= MAX_PLAINTEXT_CHUNK) {
        chunks.push(this.decrypt(this.queue.take(Math.min(left, MAX_PLAINTEXT_CHUNK) + MAC_SIZE)));
      }
      frames.push({
        extensionType: this.header.extensionType,
        msgType: this.header.msgType,
        payload: Buffer.concat(chunks, this.header.length),
      });
      this.header = null;
    }
    return frames;
  }

  private decrypt(ciphertext: Buffer): Buffer {
    try {
      return this.cipher.decryptWithAd(NO_AD, ciphertext);
    } catch (error) {
      if (error instanceof Sv2NoiseError) throw new Sv2NoiseError(error.kind, `transport frame: ${error.message}`);
      throw error;
    }
  }
}
