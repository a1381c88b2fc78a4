// What every pool connection shares, whichever protocol it speaks: its states, the retry of a dropped connection with backoff, and the limits its pool is held to.
import type { Logger } from '@nestjs/common';
import type { Socket } from 'node:net';
import type { PoolExtranonce, PoolJob } from '../protocol/pool-messages.js';
import type { PoolAccount, PoolConnectionListener, PoolConnectionOptions } from './pool-connection.js';
import { PoolLimits } from './pool-limits.js';

export const DEFAULT_INITIAL_BACKOFF_MS = 1000;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

export interface BackoffOptions {
  /** First reconnect delay; doubles up to maxBackoffMs. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** When a dropped connection tries again: the first delay, doubling to a cap, longer after floods, sooner when the pool says. */
export class ReconnectBackoff {
  private delay: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: BackoffOptions) {
    this.delay = this.initial;
  }

  /** The wait before the next attempt. */
  get delayMs(): number {
    return this.delay;
  }

  /** The connection is up: the next drop waits the first delay again. */
  reset(): void {
    this.delay = this.initial;
  }

  /** The pool said when to come back (client.reconnect, Reconnect). */
  waitNext(ms: number): void {
    this.delay = Math.max(ms, 0);
  }

  /** The pool flooded for the nth time on this connection: each flood doubles the wait. */
  afterFloods(floods: number): void {
    this.delay = Math.min(this.max, this.initial * 2 ** floods);
  }

  /** Calls `open` after the delay; the next delay is twice as long, up to the cap. */
  schedule(open: () => void): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      open();
    }, this.delay);
    this.delay = Math.min(Math.max(this.delay * 2, this.initial), this.max);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private get initial(): number {
    return this.options.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
  }

  private get max(): number {
    return this.options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  }
}

type State = 'idle' | 'connecting' | 'ready' | 'waiting' | 'closed';

/**
 * A client for one pool account, retried with backoff (1 s doubling to 30 s) after every drop until its
 * owner closes it: whether to try another account is the owner's decision. The protocols (PoolConnection
 * for SV1, Sv2PoolConnection for SV2) open the socket and speak on it; what they owe the pool is forgotten
 * in `forget()` when the socket goes.
 */
export abstract class ReconnectingPoolConnection {
  protected abstract readonly logger: Logger;
  protected socket: Socket | null = null;
  protected state: State = 'idle';
  /** The pool's port, which a reconnect request may change. */
  protected port: number;
  protected readonly backoff: ReconnectBackoff;
  protected readonly limits: PoolLimits;
  extranonce: PoolExtranonce | null = null;
  versionMask: number | null = null;
  difficulty: number | null = null;
  lastJob: PoolJob | null = null;

  constructor(
    readonly account: PoolAccount,
    options: PoolConnectionOptions,
    protected listener: PoolConnectionListener,
    /** Prefix of log lines: who this connection serves. */
    protected readonly label: string,
  ) {
    this.port = account.port;
    this.backoff = new ReconnectBackoff(options);
    this.limits = new PoolLimits(
      options,
      (job) => this.state === 'ready' && this.listener.onJob(job),
      (text) => this.logger.warn(`${this.label}: pool ${this.address} ${text}`),
      (kind) => this.listener.onProtocolError(kind),
    );
  }

  get address(): string {
    return `${this.account.host}:${this.account.port}`;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  start(): void {
    if (this.state === 'idle') this.open();
  }

  /** Hands the connection to another owner (a failback probe becoming a channel's connection). */
  setListener(listener: PoolConnectionListener): void {
    this.listener = listener;
  }

  /** Drops the connection and reconnects after the backoff, as if the pool had closed it. */
  restart(reason: string): void {
    if (this.socket) this.down(this.socket, reason);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.backoff.cancel();
    this.limits.jobs.discard();
    this.forget('pool connection closed');
    this.socket?.destroy();
    this.socket = null;
  }

  /** Connects (again): sets `socket` and `state`, and calls down() when the attempt or the connection ends. */
  protected abstract open(): void;

  /** The socket is gone: what was waiting for the pool's answer fails with `reason`, and its session state goes. */
  protected abstract forget(reason: string): void;

  /** `quiet`: the cause was logged already (once per connection), so each drop it causes is not. */
  protected down(socket: Socket, reason: string, quiet = false): void {
    if (socket !== this.socket || this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.socket = null;
    socket.destroy();
    this.state = 'waiting';
    // The next connection's jobs are its own: nothing of this one may be replayed.
    this.lastJob = null;
    this.limits.jobs.discard();
    this.forget(`pool connection lost (${reason})`);
    const who = `${this.label}: pool ${this.address}`;
    if (quiet) this.logger.debug(`${who} down: ${reason}`);
    else if (wasReady) this.logger.warn(`${who} down: ${reason}`);
    else this.logger.warn(`${who} unreachable: ${reason}; retrying in ${this.backoff.delayMs} ms`);
    this.listener.onDown(reason, wasReady);
    if (this.state !== 'waiting') return; // the listener closed us
    this.backoff.schedule(() => this.state === 'waiting' && this.open());
  }

  /**
   * Counts a notification (anything the pool pushes) against its budget. Over it, the pool is flooding: the
   * connection is dropped (logged once, counted), and the next attempt waits twice as long as after the last flood.
   */
  protected overBudget(socket: Socket): boolean {
    if (this.limits.admit()) return false;
    this.backoff.afterFloods(this.limits.floods);
    // The owner may have moved on (closed this connection); otherwise it is retried after the backoff.
    if (socket === this.socket) this.down(socket, 'notification flood', this.limits.floods > 1);
    return true;
  }
}
