import fc from 'fast-check';
import { ByteQueue } from './byte-queue.js';
import { Sv2DecodeError, Sv2EncodeError, Sv2Reader, Sv2Writer } from './codec.js';

describe('SV2 data types', () => {
  it('writes every integer type little-endian', () => {
    const bytes = new Sv2Writer()
      .u8(0xab)
      .u16(0x1234)
      .u24(0x56789a)
      .u32(0xdeadbeef)
      .u64(0x0102030405060708n)
      .bool(true)
      .bool(false)
      .finish();
    expect(bytes.toString('hex')).toBe('ab' + '3412' + '9a7856' + 'efbeadde' + '0807060504030201' + '01' + '00');
  });

  it('F32 is an IEEE-754 single, little-endian', () => {
    expect(new Sv2Writer().f32(1).finish().toString('hex')).toBe('0000803f');
    expect(new Sv2Reader(Buffer.from('0000803f', 'hex')).f32()).toBe(1);
  });

  it('length-prefixed types: 1-byte lengths, B0_64K a 2-byte little-endian length', () => {
    expect(new Sv2Writer().str0_255('ab').finish().toString('hex')).toBe('026162');
    expect(
      new Sv2Writer()
        .b0_32(Buffer.of(1, 2, 3))
        .finish()
        .toString('hex'),
    ).toBe('03010203');
    expect(new Sv2Writer().b0_64k(Buffer.alloc(0x102, 7)).finish().subarray(0, 3).toString('hex')).toBe('020107');
    expect(new Sv2Writer().optionU32(undefined).finish().toString('hex')).toBe('00');
    expect(new Sv2Writer().optionU32(5).finish().toString('hex')).toBe('0105000000');
    expect(new Sv2Writer().seq0_255U256([Buffer.alloc(32, 1)]).finish()).toHaveLength(33);
  });

  it('BOOL reads only the least significant bit', () => {
    const reader = new Sv2Reader(Buffer.of(0xfe, 0x03));
    expect(reader.bool()).toBe(false);
    expect(reader.bool()).toBe(true);
  });

  it('refuses values the type cannot carry instead of wrapping them', () => {
    expect(() => new Sv2Writer().u8(256)).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().u16(-1)).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().u32(2 ** 32)).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().u32(1.5)).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().u64(1n << 64n)).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().u256(Buffer.alloc(31))).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().str0_255('é'.repeat(128))).toThrow(Sv2EncodeError); // 256 bytes of UTF-8
    expect(() => new Sv2Writer().b0_32(Buffer.alloc(33))).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().b0_64k(Buffer.alloc(0x10000))).toThrow(Sv2EncodeError);
    expect(() => new Sv2Writer().seq0_255U256(Array.from({ length: 256 }, () => Buffer.alloc(32)))).toThrow(Sv2EncodeError);
  });

  it('refuses declared lengths the type does not allow', () => {
    expect(() => new Sv2Reader(Buffer.concat([Buffer.of(33), Buffer.alloc(33)])).b0_32()).toThrow(Sv2DecodeError);
    expect(() => new Sv2Reader(Buffer.of(2, 0, 0, 0, 0)).optionU32()).toThrow(Sv2DecodeError);
    // A count byte promising 255 hashes with none behind it is refused before any allocation.
    expect(() => new Sv2Reader(Buffer.of(255)).seq0_255U256()).toThrow(Sv2DecodeError);
    expect(() => new Sv2Reader(Buffer.of(0xff, 0xff)).seq0_64kU32()).toThrow(Sv2DecodeError);
  });

  it('every read of truncated input throws Sv2DecodeError and never reads past the end', () => {
    const full = new Sv2Writer()
      .u8(1)
      .u16(2)
      .u24(3)
      .u32(4)
      .u64(5n)
      .f32(6)
      .bool(true)
      .u256(Buffer.alloc(32, 8))
      .str0_255('nine')
      .b0_32(Buffer.alloc(10, 10))
      .b0_255(Buffer.alloc(11, 11))
      .b0_64k(Buffer.alloc(300, 12))
      .seq0_255U256([Buffer.alloc(32, 13), Buffer.alloc(32, 14)])
      .seq0_64kU32([15, 16])
      .optionU32(17)
      .finish();
    const readAll = (reader: Sv2Reader) => {
      const values = [
        reader.u8(),
        reader.u16(),
        reader.u24(),
        reader.u32(),
        reader.u64(),
        reader.f32(),
        reader.bool(),
        reader.u256(),
        reader.str0_255(),
        reader.b0_32(),
        reader.b0_255(),
        reader.b0_64k(),
        reader.seq0_255U256(),
        reader.seq0_64kU32(),
        reader.optionU32(),
      ];
      return { values, remaining: reader.remaining };
    };
    const whole = readAll(new Sv2Reader(full));
    expect(whole.remaining).toBe(0);
    expect(whole.values[8]).toBe('nine');
    expect(whole.values[14]).toBe(17);
    for (let cut = 0; cut < full.length; cut++) {
      expect(() => readAll(new Sv2Reader(full.subarray(0, cut))), `cut at ${cut}`).toThrow(Sv2DecodeError);
    }
  });

  it('byte fields read are copies, unaffected by later changes to the input buffer', () => {
    const input = Buffer.concat([Buffer.of(2, 0xaa, 0xbb)]);
    const value = new Sv2Reader(input).b0_255();
    input.fill(0);
    expect(value.toString('hex')).toBe('aabb');
  });

  it('property: any sequence of values reads back as written', () => {
    const value = fc.oneof(
      fc.record({ t: fc.constant('u8' as const), v: fc.integer({ min: 0, max: 0xff }) }),
      fc.record({ t: fc.constant('u16' as const), v: fc.integer({ min: 0, max: 0xffff }) }),
      fc.record({ t: fc.constant('u24' as const), v: fc.integer({ min: 0, max: 0xffffff }) }),
      fc.record({ t: fc.constant('u32' as const), v: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ t: fc.constant('u64' as const), v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
      fc.record({ t: fc.constant('str0_255' as const), v: fc.string({ maxLength: 60 }) }),
      fc.record({ t: fc.constant('b0_32' as const), v: fc.uint8Array({ maxLength: 32 }) }),
      fc.record({ t: fc.constant('b0_64k' as const), v: fc.uint8Array({ maxLength: 600 }) }),
      fc.record({ t: fc.constant('optionU32' as const), v: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }) }),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 20 }), (values) => {
        const writer = new Sv2Writer();
        for (const { t, v } of values) (writer[t] as (x: unknown) => Sv2Writer)(v);
        const reader = new Sv2Reader(writer.finish());
        for (const { t, v } of values) {
          const read = (reader[t] as () => unknown)();
          if (v instanceof Uint8Array) expect(Buffer.from(read as Buffer).equals(Buffer.from(v))).toBe(true);
          else expect(read).toEqual(v);
        }
        expect(reader.remaining).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('ByteQueue', () => {
  it('takes exact pieces across chunk boundaries, as copies', () => {
    const queue = new ByteQueue();
    const first = Buffer.from('abc');
    queue.push(first);
    queue.push(Buffer.from('defg'));
    expect(queue.length).toBe(7);
    expect(queue.take(2).toString()).toBe('ab');
    const piece = queue.take(4);
    first.fill(0);
    expect(piece.toString()).toBe('cdef');
    expect(queue.length).toBe(1);
    expect(() => queue.take(2)).toThrow(RangeError);
    expect(queue.take(1).toString()).toBe('g');
  });

  it('a trickle of single bytes is consumed whole', () => {
    const queue = new ByteQueue();
    for (let i = 0; i < 5000; i++) queue.push(Buffer.of(i & 0xff));
    const all = queue.take(5000);
    expect(all[4999]).toBe(4999 & 0xff);
    expect(queue.length).toBe(0);
  });
});
