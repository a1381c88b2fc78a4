/** The SV2 binary data types (03-Protocol-Overview 3.1): a bounds-checked reader and a range-checked writer. */

/** Input that is not a valid SV2 encoding (truncated, over a length limit, bad value). Never a crash. */
export class Sv2DecodeError extends Error {
  override readonly name = 'Sv2DecodeError';
}

/** A value that cannot be put on the wire (out of range, too long): a bug or bad input on our side. */
export class Sv2EncodeError extends RangeError {
  override readonly name = 'Sv2EncodeError';
}

export const U256_SIZE = 32;

/**
 * Reads SV2 types from one payload. Every read checks the remaining length first, so hostile input can only
 * ever produce an Sv2DecodeError. Returned byte fields are copies: they outlive the network buffer.
 */
export class Sv2Reader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private take(length: number, what: string): Uint8Array {
    if (length > this.remaining) {
      throw new Sv2DecodeError(`truncated ${what}: need ${length} bytes at offset ${this.offset}, have ${this.remaining}`);
    }
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  u8(): number {
    return this.take(1, 'U8')[0];
  }

  u16(): number {
    const b = this.take(2, 'U16');
    return b[0] | (b[1] << 8);
  }

  u24(): number {
    const b = this.take(3, 'U24');
    return b[0] | (b[1] << 8) | (b[2] << 16);
  }

  u32(): number {
    const b = this.take(4, 'U32');
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  u64(): bigint {
    return Buffer.from(this.take(8, 'U64')).readBigUInt64LE(0);
  }

  f32(): number {
    return Buffer.from(this.take(4, 'F32')).readFloatLE(0);
  }

  /** Only the least significant bit counts: the spec reserves the others for future flags. */
  bool(): boolean {
    return (this.take(1, 'BOOL')[0] & 1) === 1;
  }

  /** 32 bytes in wire (little-endian) order. */
  u256(): Buffer {
    return Buffer.from(this.take(U256_SIZE, 'U256'));
  }

  bytesFixed(length: number): Buffer {
    return Buffer.from(this.take(length, `${length} bytes`));
  }

  /** UTF-8 is what the spec recommends; invalid sequences are replaced rather than refused. */
  str0_255(): string {
    const length = this.u8();
    return Buffer.from(this.take(length, 'STR0_255')).toString('utf8');
  }

  b0_32(): Buffer {
    const length = this.u8();
    if (length > 32) throw new Sv2DecodeError(`B0_32 length ${length} over 32`);
    return Buffer.from(this.take(length, 'B0_32'));
  }

  b0_255(): Buffer {
    const length = this.u8();
    return Buffer.from(this.take(length, 'B0_255'));
  }

  b0_64k(): Buffer {
    const length = this.u16();
    return Buffer.from(this.take(length, 'B0_64K'));
  }

  seq0_255U256(): Buffer[] {
    const count = this.u8();
    // Checked up front so a count byte alone cannot make us allocate or loop for nothing.
    if (count * U256_SIZE > this.remaining) throw new Sv2DecodeError(`truncated SEQ0_255[U256] of ${count}`);
    return Array.from({ length: count }, () => this.u256());
  }

  seq0_64kU32(): number[] {
    const count = this.u16();
    if (count * 4 > this.remaining) throw new Sv2DecodeError(`truncated SEQ0_64K[U32] of ${count}`);
    return Array.from({ length: count }, () => this.u32());
  }

  /** OPTION[U32]: a sequence of 0 or 1 element; undefined when empty. */
  optionU32(): number | undefined {
    const count = this.u8();
    if (count > 1) throw new Sv2DecodeError(`OPTION count ${count} over 1`);
    return count === 1 ? this.u32() : undefined;
  }
}

function checkInteger(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new Sv2EncodeError(`${what} out of range: ${value}`);
}

/** Builds one payload. Appends are checked against each type's range so nothing silently wraps. */
export class Sv2Writer {
  private readonly parts: Buffer[] = [];
  private size = 0;

  private push(part: Buffer): this {
    this.parts.push(part);
    this.size += part.length;
    return this;
  }

  get length(): number {
    return this.size;
  }

  u8(value: number): this {
    checkInteger(value, 0xff, 'U8');
    return this.push(Buffer.of(value));
  }

  u16(value: number): this {
    checkInteger(value, 0xffff, 'U16');
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(value);
    return this.push(b);
  }

  u24(value: number): this {
    checkInteger(value, 0xffffff, 'U24');
    return this.push(Buffer.of(value & 0xff, (value >>> 8) & 0xff, value >>> 16));
  }

  u32(value: number): this {
    checkInteger(value, 0xffffffff, 'U32');
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(value);
    return this.push(b);
  }

  u64(value: bigint): this {
    if (value < 0n || value > 0xffffffffffffffffn) throw new Sv2EncodeError(`U64 out of range: ${value}`);
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(value);
    return this.push(b);
  }

  f32(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeFloatLE(value);
    return this.push(b);
  }

  bool(value: boolean): this {
    return this.push(Buffer.of(value ? 1 : 0));
  }

  u256(value: Uint8Array): this {
    if (value.length !== U256_SIZE) throw new Sv2EncodeError(`U256 must be 32 bytes, got ${value.length}`);
    return this.push(Buffer.from(value));
  }

  bytesFixed(value: Uint8Array): this {
    return this.push(Buffer.from(value));
  }

  private prefixed(value: Uint8Array, max: number, what: string): this {
    if (value.length > max) throw new Sv2EncodeError(`${what} longer than ${max} bytes: ${value.length}`);
    if (max > 0xff) this.u16(value.length);
    else this.u8(value.length);
    return this.push(Buffer.from(value));
  }

  str0_255(value: string): this {
    return this.prefixed(Buffer.from(value, 'utf8'), 255, 'STR0_255');
  }

  b0_32(value: Uint8Array): this {
    return this.prefixed(value, 32, 'B0_32');
  }

  b0_255(value: Uint8Array): this {
    return this.prefixed(value, 255, 'B0_255');
  }

  b0_64k(value: Uint8Array): this {
    return this.prefixed(value, 0xffff, 'B0_64K');
  }

  seq0_255U256(values: readonly Uint8Array[]): this {
    if (values.length > 255) throw new Sv2EncodeError(`SEQ0_255 longer than 255: ${values.length}`);
    this.u8(values.length);
    for (const value of values) this.u256(value);
    return this;
  }

  seq0_64kU32(values: readonly number[]): this {
    if (values.length > 0xffff) throw new Sv2EncodeError(`SEQ0_64K longer than 65535: ${values.length}`);
    this.u16(values.length);
    for (const value of values) this.u32(value);
    return this;
  }

  optionU32(value: number | undefined): this {
    if (value === undefined) return this.u8(0);
    return this.u8(1).u32(value);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}
