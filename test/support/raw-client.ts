import { connect, Socket } from 'node:net';

/** A raw TCP client for hostile-input tests: send anything, read lines, see when the proxy hangs up. */
export class RawClient {
  readonly lines: unknown[] = [];
  closedAt: number | null = null;
  readonly openedAt = Date.now();
  private constructor(readonly socket: Socket) {}

  static async open(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawClient(socket);
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) !== -1) {
        client.lines.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (client.closedAt = Date.now()));
    return client;
  }

  send(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  request(id: number, method: string, params: unknown): void {
    this.send(`${JSON.stringify({ id, method, params })}\n`);
  }

  /** The response with this id, waiting for it. */
  async response(id: number, timeoutMs = 5000): Promise<{ id: number; result: unknown; error: unknown }> {
    const started = Date.now();
    for (;;) {
      const found = this.lines.find((line) => (line as { id?: unknown }).id === id);
      if (found) return found as { id: number; result: unknown; error: unknown };
      if (Date.now() - started > timeoutMs) throw new Error(`no response ${id}; got ${JSON.stringify(this.lines)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Resolves with the time the proxy took to close the connection; rejects if it stays open. */
  async closed(timeoutMs = 5000): Promise<number> {
    const started = Date.now();
    while (this.closedAt === null) {
      if (Date.now() - started > timeoutMs) throw new Error('the connection stayed open');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.closedAt - this.openedAt;
  }

  get isOpen(): boolean {
    return this.closedAt === null;
  }

  close(): void {
    this.socket.destroy();
  }
}
