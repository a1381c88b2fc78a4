/**
 * Bytes as TCP delivers them, consumed in exact-size pieces. Chunks are only joined when a piece is taken, so
 * a peer trickling a large frame byte by byte costs linear time, not quadratic.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the first unconsumed chunk (instead of shift(), which can be linear). */
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.size += chunk.length;
  }

  /** Removes and returns the first `length` bytes, copied: the socket may reuse the chunks' memory. */
  take(length: number): Buffer {
    if (length > this.size) throw new RangeError(`ByteQueue: take(${length}) with ${this.size} queued`);
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[this.head];
      const used = Math.min(chunk.length, length - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.head++;
      else this.chunks[this.head] = chunk.subarray(used);
    }
    this.size -= length;
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.size = 0;
  }
}
