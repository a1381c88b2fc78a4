/** Splits a byte stream into newline-terminated lines with a hard cap on any one line (pure, no sockets). */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`line longer than ${limit} bytes`);
  }
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Returns the complete lines in `chunk` (without `\n` or a trailing `\r`); throws LineTooLongError past the cap. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      if (this.pendingBytes + piece.length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      let line: string;
      if (this.pendingBytes > 0) {
        this.pending.push(piece);
        line = Buffer.concat(this.pending, this.pendingBytes + piece.length).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        line = piece.toString('utf8');
      }
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.trim() !== '') lines.push(line);
      start = newline + 1;
    }
    const rest = chunk.length - start;
    if (rest > 0) {
      if (this.pendingBytes + rest > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      // Copy: the socket may reuse its buffer.
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += rest;
    }
    return lines;
  }

  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}

/** True when the first bytes of a connection cannot start a JSON-RPC line (HTTP, TLS hello, binary). */
export function looksLikeJsonLine(firstBytes: Buffer): boolean {
  for (const byte of firstBytes) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0a) continue;
    return byte === 0x7b; // '{'
  }
  return true; // only whitespace so far: undecided
}
