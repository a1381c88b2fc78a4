import fc from 'fast-check';
import { Sv2DecodeError } from './codec.js';
import {
  CHANNEL_MSG_BIT,
  decodeFrameHeader,
  encodeFrame,
  encodeFrameHeader,
  extensionOf,
  FrameSplitter,
  FrameTooLargeError,
  isChannelMessage,
  type Sv2Frame,
} from './frame.js';

/** Feeds `bytes` to `push` cut at `cuts` (offsets, in any order), collecting what comes out. */
function feedSplit<T>(bytes: Buffer, cuts: readonly number[], push: (chunk: Buffer) => T[]): T[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, bytes.length)))].sort((a, b) => a - b);
  const out: T[] = [];
  let start = 0;
  for (const end of [...points, bytes.length]) {
    out.push(...push(bytes.subarray(start, end)));
    start = end;
  }
  return out;
}

describe('SV2 frames', () => {
  it('header: extension_type U16, msg_type U8, msg_length U24, little-endian', () => {
    const header = encodeFrameHeader({ extensionType: 0x8000, msgType: 0x1b, length: 0x030201 });
    expect(header.toString('hex')).toBe('00801b010203');
    expect(decodeFrameHeader(header)).toEqual({ extensionType: 0x8000, msgType: 0x1b, length: 0x030201 });
    expect(() => decodeFrameHeader(header.subarray(0, 5))).toThrow(Sv2DecodeError);
  });

  it('the channel_msg bit is the top bit of extension_type and not part of the extension', () => {
    expect(CHANNEL_MSG_BIT).toBe(0x8000);
    expect(isChannelMessage(0x8000)).toBe(true);
    expect(isChannelMessage(0x0001)).toBe(false);
    expect(extensionOf(0x8abc)).toBe(0x0abc);
  });

  it('the splitter returns the same frames however the stream is cut', () => {
    const frameArb = fc.record({
      extensionType: fc.integer({ min: 0, max: 0xffff }),
      msgType: fc.integer({ min: 0, max: 0xff }),
      payload: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    });
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 6 }), fc.array(fc.nat(2000), { maxLength: 12 }), (frames, cuts) => {
        const stream = Buffer.concat(frames.map(encodeFrame));
        const splitter = new FrameSplitter(1024);
        const out = feedSplit(stream, cuts, (chunk) => splitter.push(chunk));
        expect(out).toEqual(frames);
        expect(splitter.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('holds an incomplete frame until the rest arrives', () => {
    const frame: Sv2Frame = { extensionType: 0, msgType: 1, payload: Buffer.from('0200000000000000', 'hex') };
    const bytes = encodeFrame(frame);
    const splitter = new FrameSplitter();
    expect(splitter.push(bytes.subarray(0, 9))).toEqual([]);
    expect(splitter.buffered).toBe(9);
    expect(splitter.push(bytes.subarray(9))).toEqual([frame]);
  });

  it('refuses a frame over the payload limit from its header alone, and stays failed', () => {
    const splitter = new FrameSplitter(100);
    expect(splitter.push(encodeFrame({ extensionType: 0, msgType: 0, payload: Buffer.alloc(100) }))).toHaveLength(1);
    const header = encodeFrameHeader({ extensionType: 0, msgType: 0, length: 101 });
    expect(() => splitter.push(header)).toThrow(FrameTooLargeError);
    expect(() => splitter.push(Buffer.alloc(1))).toThrow(FrameTooLargeError);
  });

  it('the default limit allows the largest NewExtendedMiningJob and refuses a 16 MB frame', () => {
    const largestJob = 4 + 4 + 5 + 4 + 1 + (1 + 255 * 32) + 2 * (2 + 0xffff);
    const splitter = new FrameSplitter();
    expect(splitter.push(encodeFrameHeader({ extensionType: 0x8000, msgType: 0x1f, length: largestJob }))).toEqual([]);
    expect(() => new FrameSplitter().push(encodeFrameHeader({ extensionType: 0, msgType: 0, length: 0xffffff }))).toThrow(
      FrameTooLargeError,
    );
  });
});
