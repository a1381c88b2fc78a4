/** SV2 message frames (03-Protocol-Overview 3.2): a 6-byte header, then msg_length payload bytes. */
import { ByteQueue } from './byte-queue.js';
import { Sv2DecodeError, Sv2EncodeError, Sv2Reader, Sv2Writer } from './codec.js';

export const FRAME_HEADER_SIZE = 6;

/** The channel_msg flag: the top bit of extension_type; such payloads start with channel_id U32. */
export const CHANNEL_MSG_BIT = 0x8000;

/** msg_length is a U24. */
export const MAX_PAYLOAD_LIMIT = 0xffffff;

/**
 * Default cap on one frame's payload. The largest message a translator meets is NewExtendedMiningJob: two
 * B0_64K coinbase parts and 255 merkle hashes, about 139 KB; 256 KiB leaves room without letting a peer make
 * us buffer 16 MB.
 */
export const DEFAULT_MAX_PAYLOAD = 256 * 1024;

export interface FrameHeader {
  /** With the channel_msg bit as sent. */
  readonly extensionType: number;
  readonly msgType: number;
  readonly length: number;
}

export interface Sv2Frame {
  /** With the channel_msg bit as sent. */
  readonly extensionType: number;
  readonly msgType: number;
  readonly payload: Buffer;
}

/** A frame whose announced payload is over the limit: refused before any of it is buffered. */
export class FrameTooLargeError extends Sv2DecodeError {
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`frame payload of ${length} bytes over the limit of ${limit}`);
  }
}

/** The extension without the channel_msg bit: 0 is the common and mining protocols. */
export function extensionOf(extensionType: number): number {
  return extensionType & ~CHANNEL_MSG_BIT;
}

export function isChannelMessage(extensionType: number): boolean {
  return (extensionType & CHANNEL_MSG_BIT) !== 0;
}

export function encodeFrameHeader(header: FrameHeader): Buffer {
  return new Sv2Writer().u16(header.extensionType).u8(header.msgType).u24(header.length).finish();
}

export function decodeFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < FRAME_HEADER_SIZE) throw new Sv2DecodeError(`truncated frame header: ${bytes.length} bytes`);
  const reader = new Sv2Reader(bytes);
  return { extensionType: reader.u16(), msgType: reader.u8(), length: reader.u24() };
}

export function encodeFrame(frame: Sv2Frame): Buffer {
  if (frame.payload.length > MAX_PAYLOAD_LIMIT) throw new Sv2EncodeError(`payload of ${frame.payload.length} bytes over U24`);
  const header = encodeFrameHeader({ extensionType: frame.extensionType, msgType: frame.msgType, length: frame.payload.length });
  return Buffer.concat([header, frame.payload]);
}

/**
 * Splits a plaintext byte stream into frames, wherever the chunks were cut. Used without Noise (local links)
 * and by tests; encrypted links use Sv2TransportDecoder. After an error the splitter stays failed: the stream
 * has lost its framing and the connection must be closed.
 */
export class FrameSplitter {
  private readonly queue = new ByteQueue();
  private header: FrameHeader | null = null;
  private failure: Sv2DecodeError | null = null;

  constructor(private readonly maxPayload = DEFAULT_MAX_PAYLOAD) {
    if (maxPayload > MAX_PAYLOAD_LIMIT) throw new RangeError(`maxPayload over U24: ${maxPayload}`);
  }

  /** Bytes received and not yet part of a returned frame (for buffer accounting). */
  get buffered(): number {
    return this.queue.length + (this.header ? FRAME_HEADER_SIZE : 0);
  }

  push(chunk: Uint8Array): Sv2Frame[] {
    if (this.failure) throw this.failure;
    this.queue.push(chunk);
    const frames: Sv2Frame[] = [];
    for (;;) {
      if (!this.header) {
        if (this.queue.length < FRAME_HEADER_SIZE) break;
        const header = decodeFrameHeader(this.queue.take(FRAME_HEADER_SIZE));
        if (header.length > this.maxPayload) {
          this.failure = new FrameTooLargeError(header.length, this.maxPayload);
          this.queue.clear();
          throw this.failure;
        }
        this.header = header;
      }
      if (this.queue.length < this.header.length) break;
      frames.push({ extensionType: this.header.extensionType, msgType: this.header.msgType, payload: this.queue.take(this.header.length) });
      this.header = null;
    }
    return frames;
  }
}
