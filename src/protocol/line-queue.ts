/**
 * A FIFO of received lines with a moving head (shift on a long array would copy it every time), served a
 * batch per turn of the event loop by the miner and pool sides alike. Pure: no sockets.
 */
export class LineQueue {
  private lines: string[] = [];
  private head = 0;

  get length(): number {
    return this.lines.length - this.head;
  }

  push(lines: readonly string[]): void {
    // Drop the served part once it is most of the array, so a long-lived busy queue does not grow.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
    for (const line of lines) this.lines.push(line);
  }

  shift(): string {
    const line = this.lines[this.head++];
    if (this.head === this.lines.length) this.clear();
    return line;
  }

  clear(): void {
    this.lines = [];
    this.head = 0;
  }
}
