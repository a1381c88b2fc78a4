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
  | 'too-much-junk'
  | 'invalid-shares'
  | 'pool-rejects'
  | 'line-timeout'
  | 'address-limit'
  | 'proxy-protocol'
  | 'slow-consumer'
  | 'socket-error'
  | 'connection-limit'
  | 'pool-unreachable'
  | 'pool-refused'
  | 'reconnect-required';

/** Output a miner has not read yet, past which it is a slow consumer and is closed. */
export const MAX_PENDING_OUTPUT_BYTES = 1024 * 1024;

/** Messages that do not advance mining: counted against the connection. */
export type JunkKind = 'unknown_method' | 'notification' | 'response' | 'repeated_subscribe' | 'resume_refused';

/** What a connection may send before it is closed (from the stratum flags). */
export interface ConnectionLimits {
  readonly maxJunkPerMinute: number;
  readonly maxInvalidShareRatio: number;
}

/** Shares judged per block when checking a miner's invalid-share ratio. */
export const SHARE_RATIO_BLOCK = 100;
const JUNK_WINDOW_MS = 60_000;

let nextConnectionId = 1;

/** One miner's TCP connection: bounded output, a clean close with a reason, close listeners. */
export class StratumConnection {
  readonly id = nextConnectionId++;
  /** The miner's address: the socket's peer, or the one a load balancer's PROXY header names. */
  remoteAddress: string;
  remotePort: number;
  protocolErrors = 0;
  /** Came in over the TLS listener. */
  tls = false;
  /** When it last sent a useful message (0: before its first byte): the idle deadline counts from here. */
  lastUsefulAt = 0;
  closeReason: CloseReason | null = null;
  private readonly closeListeners: ((reason: CloseReason) => void)[] = [];
  private junkCount = 0;
  private junkWindowStart = 0;
  private sharesJudged = 0;
  private sharesInvalid = 0;
  /** Kinds of event already logged for this connection: what a peer can trigger is logged once. */
  private logged: Set<string> | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly limits: ConnectionLimits = { maxJunkPerMinute: Infinity, maxInvalidShareRatio: 1 },
    /** Told of every junk message and of shares closed for (for the metrics). */
    private readonly onJunk: (kind: JunkKind | 'invalid_share') => void = () => undefined,
  ) {
    this.remoteAddress = (socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
    this.remotePort = socket.remotePort ?? 0;
  }

  /** The miner's own address, from a PROXY protocol header (before its first message). */
  setSource(address: string, port: number): void {
    this.remoteAddress = address.replace(/^::ffff:/, '');
    this.remotePort = port;
  }

  /** The miner's ip:port, the original's `worker` label. */
  get address(): string {
    return this.remoteAddress.includes(':') ? `[${this.remoteAddress}]:${this.remotePort}` : `${this.remoteAddress}:${this.remotePort}`;
  }

  get isOpen(): boolean {
    return this.closeReason === null;
  }

  /** The miner closed its side (its FIN was read), even if the close is not processed yet. */
  get peerEnded(): boolean {
    return this.socket.readableEnded || this.socket.destroyed;
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

  /** A message that did not advance mining; past --stratum.maxJunkPerMinute within a minute the connection is closed. */
  junk(kind: JunkKind): void {
    if (!this.isOpen) return;
    this.onJunk(kind);
    const now = Date.now();
    if (now - this.junkWindowStart > JUNK_WINDOW_MS) {
      this.junkWindowStart = now;
      this.junkCount = 0;
    }
    if (++this.junkCount > this.limits.maxJunkPerMinute) this.close('too-much-junk');
  }

  /**
   * A share judged, by the proxy or (forwarded) by the pool's verdict; stale ones, pool outages and
   * timeouts are not. A miner whose shares are invalid more often than --stratum.maxInvalidShareRatio over a
   * block of 100 is closed. It costs a hash each.
   */
  shareJudged(valid: boolean): void {
    if (!this.isOpen) return;
    this.sharesJudged++;
    if (!valid) {
      this.sharesInvalid++;
      this.onJunk('invalid_share');
    }
    if (this.sharesJudged < SHARE_RATIO_BLOCK) return;
    const ratio = this.sharesInvalid / this.sharesJudged;
    this.sharesJudged = this.sharesInvalid = 0;
    if (ratio > this.limits.maxInvalidShareRatio) this.close('invalid-shares');
  }

  /** True the first time a kind of event is seen on this connection: log it then, count it always. */
  firstTime(kind: string): boolean {
    const logged = (this.logged ??= new Set());
    if (logged.has(kind)) return false;
    logged.add(kind);
    return true;
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
