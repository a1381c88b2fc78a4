import type { Socket } from 'node:net';
import { StratumErrorTuple } from '../../protocol/errors.js';
import { encodeError, encodeResult, RpcId } from '../../protocol/json-rpc.js';

/** Why a miner connection ended: a small fixed set, logged and counted. */
export type CloseReason =
  | 'client-closed'
  | 'server-shutdown'
  | 'not-stratum'
  | 'line-too-long'
  | 'silence-timeout'
  | 'idle-timeout'
  | 'too-many-errors'
  | 'slow-consumer'
  | 'socket-error'
  | 'connection-limit'
  | 'pool-unreachable'
  | 'pool-refused'
  | 'reconnect-required';

/** Output a miner has not read yet, past which it is a slow consumer and is closed. */
export const MAX_PENDING_OUTPUT_BYTES = 1024 * 1024;

let nextConnectionId = 1;

/** One miner's TCP connection: bounded output, a clean close with a reason, close listeners. */
export class StratumConnection {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  protocolErrors = 0;
  closeReason: CloseReason | null = null;
  private readonly closeListeners: ((reason: CloseReason) => void)[] = [];

  constructor(private readonly socket: Socket) {
    this.remoteAddress = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    this.remotePort = socket.remotePort ?? 0;
  }

  /** The miner's ip:port, the original's `worker` label. */
  get address(): string {
    return this.remoteAddress.includes(':') ? `[${this.remoteAddress}]:${this.remotePort}` : `${this.remoteAddress}:${this.remotePort}`;
  }

  get isOpen(): boolean {
    return this.closeReason === null;
  }

  /** Writes one encoded line (text, or bytes shared by many connections); a peer that stops reading is closed. */
  write(line: string | Buffer): void {
    if (!this.isOpen) return;
    if (this.socket.writableLength > MAX_PENDING_OUTPUT_BYTES) {
      this.close('slow-consumer');
      return;
    }
    this.socket.write(line);
  }

  replyResult(id: RpcId, result: unknown): void {
    this.write(encodeResult(id, result));
  }

  replyError(id: RpcId, error: StratumErrorTuple): void {
    this.write(encodeError(id, error));
  }

  onClose(listener: (reason: CloseReason) => void): void {
    if (this.closeReason) listener(this.closeReason);
    else this.closeListeners.push(listener);
  }

  /** Ends the connection (pending output is flushed); listeners hear the reason once. */
  close(reason: CloseReason): void {
    if (!this.isOpen) return;
    this.closeReason = reason;
    if (reason === 'client-closed' || reason === 'socket-error') this.socket.destroy();
    else this.socket.end();
    // A peer that never reads its last bytes must not keep the socket.
    setTimeout(() => this.socket.destroy(), 2000).unref();
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}
