import { Logger } from '@nestjs/common';
import { lookup as dnsLookup, LookupAddress, LookupOptions } from 'node:dns';
import { connect, isIP, Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { nonPublicReason } from '../pools/public-address.js';
import { normalizeError, StratumError, StratumErrorCode } from '../protocol/errors.js';
import {
  encodeError,
  encodeRequest,
  encodeResult,
  parseRpcLine,
  RpcId,
  RpcParseError,
  RpcRequest,
  RpcResponse,
} from '../protocol/json-rpc.js';
import { LineQueue } from '../protocol/line-queue.js';
import { LineSplitter, LineTooLongError } from '../protocol/line-splitter.js';
import { maskHex } from '../protocol/miner-messages.js';
import {
  decodeNotify,
  decodeReconnect,
  decodeSetDifficulty,
  decodeSetExtranonce,
  decodeSetVersionMask,
  decodeSubscribeResult,
  PoolExtranonce,
  PoolJob,
  PoolProtocolError,
} from '../protocol/pool-messages.js';
import type { PoolLimitsOptions } from './pool-limits.js';
import { ReconnectingPoolConnection, type BackoffOptions } from './reconnecting-pool-connection.js';

/** The pool account a connection logs in with. The password never appears in a log line. */
export interface PoolAccount {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Over TLS: the pool's certificate verified against the CAs and the host name, or pinned to a SHA-256 fingerprint. */
  readonly tls?: { readonly fingerprint: string | null } | null;
}

export interface PoolConnectionOptions extends PoolLimitsOptions, BackoffOptions {
  readonly userAgent: string;
  /** The user agent each subscribe sends, asked at every (re)connect (a channel's miners' common one); default userAgent. */
  readonly subscribeUserAgent?: () => string;
  readonly maxLineLength: number;
  readonly connectTimeoutMs: number;
  readonly submitTimeoutMs: number;
  /** Ask the pool for version rolling with this mask (BIP310); null: don't send mining.configure. */
  readonly versionRollingMask: number | null;
  /** Shared by the connections to one pool: notify lines already decoded. */
  readonly notifyCache?: NotifyCache;
  /**
   * Connect only to public addresses: the host is resolved, every address checked, and the socket goes to
   * the address that was checked (a pool an anonymous registrant chose must not lead into the farm's network).
   */
  readonly publicOnly?: boolean;
}

/** A small map of recent notify lines to their decoded jobs (jobs are immutable, so sharing is safe). */
export class NotifyCache {
  private readonly jobs = new Map<string, PoolJob>();

  constructor(private readonly capacity = 8) {}

  get(line: string): PoolJob | undefined {
    return this.jobs.get(line);
  }

  set(line: string, job: PoolJob): void {
    this.jobs.set(line, job);
    if (this.jobs.size > this.capacity) this.jobs.delete(this.jobs.keys().next().value as string);
  }
}

/** What a pool connection tells its owner. */
export interface PoolConnectionListener {
  /** Subscribed and authorized (after every (re)connect). */
  onReady(extranonce: PoolExtranonce, versionMask: number | null): void;
  /** The pool refused the account: the connection is closed for good. */
  onAuthorizeFailed(reason: string): void;
  onJob(job: PoolJob): void;
  onDifficulty(difficulty: number): void;
  onExtranonce(extranonce: PoolExtranonce): void;
  onVersionMask(mask: number): void;
  /** The connection dropped (wasReady) or an attempt failed. */
  onDown(reason: string, wasReady: boolean): void;
  /** The pool sent something the proxy could not use. */
  onProtocolError(kind: PoolProtocolErrorKind): void;
}

/**
 * What a pool did wrong: `flood` (over its notification budget: the connection is dropped), `low_difficulty`
 * (a difficulty below the floor, raised to it), `reconnect_refused` (client.reconnect to another host).
 */
export type PoolProtocolErrorKind = 'malformed' | 'line_too_long' | 'bad_message' | 'flood' | 'low_difficulty' | 'reconnect_refused';

export type ShareVerdict =
  { readonly accepted: true } | { readonly accepted: false; readonly error: StratumError; readonly timedOut?: boolean };

interface PendingRequest {
  readonly method: string;
  readonly resolve: (response: RpcResponse | null) => void;
  /** When it is given up (Date.now() ms; Infinity: never). */
  readonly deadline: number;
}

/** Lines of a pool handled per turn of the event loop, and waiting before its socket is paused. */
const POOL_LINES_PER_TURN = 64;
const POOL_MAX_BACKLOG = 1024;

/**
 * A Stratum client for one pool account: subscribe, authorize, relay jobs and shares. Replies are matched
 * by id (pools and the proxy both pipeline). A dropped connection is retried with backoff (1 s doubling to
 * 30 s) until its owner closes it: whether to try another account is the owner's decision.
 */
export class PoolConnection extends ReconnectingPoolConnection {
  protected readonly logger = new Logger(PoolConnection.name);
  private nextId = 1;
  private readonly pending = new Map<RpcId, PendingRequest>();
  private deadlineTimer: NodeJS.Timeout | null = null;
  private armedDeadline = Infinity;
  private suggestedDifficulty: number | null = null;
  /** Lines waiting for the end of this turn of the event loop (send), and the socket they are for. */
  private outgoing = '';
  private outgoingSocket: Socket | null = null;

  constructor(
    account: PoolAccount,
    private readonly options: PoolConnectionOptions,
    listener: PoolConnectionListener,
    label: string,
  ) {
    super(account, options, listener, label);
  }

  /** Shares forwarded and not answered yet. */
  get sharesInFlight(): number {
    let count = 0;
    for (const request of this.pending.values()) if (request.method === 'mining.submit') count++;
    return count;
  }

  /** Forwards a share; resolves with the pool's verdict, or error 20 after submitTimeoutMs. */
  /** `worker`: a worker name authorized on this connection (authorizeWorker); the account's by default. */
  submit(jobId: string, extranonce2: string, ntime: string, nonce: string, versionBits?: string, worker?: string): Promise<ShareVerdict> {
    if (this.state !== 'ready') {
      return Promise.resolve({ accepted: false, error: new StratumError(StratumErrorCode.Other, 'pool connection is down') });
    }
    const params = [worker ?? this.account.user, jobId, extranonce2, ntime, nonce];
    if (versionBits !== undefined) params.push(versionBits);
    return this.request('mining.submit', params, this.options.submitTimeoutMs).then((response) => {
      if (response === null) {
        return {
          accepted: false,
          error: new StratumError(StratumErrorCode.Other, 'pool did not answer the share in time'),
          timedOut: true,
        };
      }
      const error = normalizeError(response.error, response.rejectReason);
      if (response.result === true && !error) return { accepted: true };
      return { accepted: false, error: error ?? new StratumError(StratumErrorCode.Other, 'rejected by the pool') };
    });
  }

  /**
   * One more worker on this connection (`account.rig`, with the account's password), as Stratum allows
   * several authorizations per connection: null when the pool accepted it, else why not (a timeout too).
   */
  async authorizeWorker(name: string): Promise<string | null> {
    if (this.state !== 'ready') return 'pool connection is down';
    const response = await this.request('mining.authorize', [name, this.account.password], this.options.submitTimeoutMs);
    if (response === null) return 'no answer in time';
    if (response.result === true && !response.error) return null;
    return normalizeError(response.error)?.message ?? 'authorization refused';
  }

  /** Passes a miner's difficulty hint on (now, and after every reconnect). */
  suggestDifficulty(difficulty: number): void {
    this.suggestedDifficulty = difficulty;
    if (this.state === 'ready') this.send(encodeRequest(this.nextId++, 'mining.suggest_difficulty', [difficulty]));
  }

  protected open(): void {
    this.state = 'connecting';
    this.limits.reset();
    const splitter = new LineSplitter(this.options.maxLineLength);
    const host = this.account.host;
    const refused = this.options.publicOnly && isIP(host) ? nonPublicReason(host) : null;
    const lookup = this.options.publicOnly ? publicLookup : undefined;
    const tls = this.account.tls ?? null;
    const socket = refused
      ? new Socket()
      : tls
        ? tlsConnect({
            host,
            port: this.port,
            lookup,
            // SNI and host-name verification need a name; a pinned certificate is checked by its fingerprint instead.
            servername: isIP(host) ? undefined : host,
            rejectUnauthorized: tls.fingerprint === null,
          })
        : connect({ host, port: this.port, noDelay: true, lookup });
    this.socket = socket;
    if (refused) {
      setImmediate(() => this.down(socket, `${refused} (--pools.allowPrivate)`));
      return;
    }
    const handshakeTimer = setTimeout(() => this.down(socket, 'connect/handshake timeout'), this.options.connectTimeoutMs);
    socket.setKeepAlive(true, 30_000);
    if (tls) {
      socket.setNoDelay(true);
      socket.on('secureConnect', () => {
        const pinned = tls.fingerprint;
        const got = (socket as TLSSocket).getPeerCertificate().fingerprint256?.replace(/:/g, '').toLowerCase() ?? '';
        if (pinned !== null && got !== pinned)
          return this.down(socket, `TLS certificate fingerprint ${got || 'missing'} is not the pinned ${pinned}`);
        void this.handshake(socket, handshakeTimer);
      });
    } else {
      socket.on('connect', () => void this.handshake(socket, handshakeTimer));
    }
    // A pool gets a bounded share too: lines are handled a batch per turn of the event loop, and the socket
    // is paused while a backlog waits, so a flooding pool cannot hold up miners or other pools.
    const backlog = new LineQueue();
    let scheduled = false;
    const serve = () => {
      scheduled = false;
      for (let served = 0; served < POOL_LINES_PER_TURN && backlog.length > 0 && socket === this.socket; served++)
        this.handleLine(socket, backlog.shift());
      if (backlog.length === 0 || socket !== this.socket) {
        backlog.clear();
        if (socket.isPaused() && socket === this.socket) socket.resume();
        return;
      }
      scheduled = true;
      setImmediate(serve);
    };
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        if (error instanceof LineTooLongError) {
          this.listener.onProtocolError('line_too_long');
          return this.down(socket, `line longer than ${this.options.maxLineLength} bytes`);
        }
        throw error;
      }
      if (lines.length === 0) return;
      backlog.push(lines);
      if (backlog.length > POOL_MAX_BACKLOG) socket.pause();
      if (!scheduled) serve();
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      this.down(socket, tls && isTlsError(error) ? tlsReason(error) : (error.code ?? error.message)),
    );
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      this.down(socket, 'closed by the pool');
    });
  }

  private async handshake(socket: Socket, handshakeTimer: NodeJS.Timeout): Promise<void> {
    const requests: Promise<RpcResponse | null>[] = [];
    if (this.options.versionRollingMask !== null) {
      // Pools that ignore unknown methods stay silent: without an answer soon, there is no version rolling.
      const configureTimeoutMs = Math.min(3000, this.options.connectTimeoutMs / 2);
      const params = [
        ['version-rolling'],
        { 'version-rolling.mask': maskHex(this.options.versionRollingMask), 'version-rolling.min-bit-count': 0 },
      ];
      requests.push(this.request('mining.configure', params, configureTimeoutMs));
    }
    // Pipelined, as real miners do: the replies are matched by id.
    const subscribe = this.request('mining.subscribe', [this.options.subscribeUserAgent?.() ?? this.options.userAgent]);
    const authorize = this.request('mining.authorize', [this.account.user, this.account.password]);
    const [configured] = requests.length > 0 ? await Promise.all(requests) : [null];
    const subscribed = await subscribe;
    const authorized = await authorize;
    if (socket !== this.socket || this.state === 'closed') return;
    clearTimeout(handshakeTimer);
    if (!subscribed || !authorized) return this.down(socket, 'no answer to subscribe/authorize');
    try {
      if (subscribed.error) throw new PoolProtocolError(`subscribe refused: ${normalizeError(subscribed.error)?.message}`);
      this.extranonce = decodeSubscribeResult(subscribed.result);
    } catch (error) {
      return this.down(socket, (error as Error).message);
    }
    if (authorized.result !== true || authorized.error) {
      const reason = normalizeError(authorized.error)?.message ?? 'authorization refused';
      this.logger.warn(`${this.label}: pool ${this.address} refused account ${this.account.user}: ${reason}`);
      this.close();
      this.listener.onAuthorizeFailed(reason);
      return;
    }
    this.versionMask = this.options.versionRollingMask === null ? null : readConfiguredMask(configured);
    this.state = 'ready';
    this.backoff.reset();
    this.logger.log(
      `${this.label}: pool ${this.address} up (account ${this.account.user}, extranonce2 size ${this.extranonce.extranonce2Size})`,
    );
    if (this.suggestedDifficulty !== null) this.send(encodeRequest(this.nextId++, 'mining.suggest_difficulty', [this.suggestedDifficulty]));
    this.listener.onReady(this.extranonce, this.versionMask);
  }

  private handleLine(socket: Socket, line: string): void {
    // Connections to one pool usually get the same notify line: decode it once, not once per connection.
    const cached = this.options.notifyCache?.get(line);
    if (cached) {
      if (this.overBudget(socket)) return;
      return this.jobArrived(cached);
    }
    let message;
    try {
      message = parseRpcLine(line);
    } catch (error) {
      if (!(error instanceof RpcParseError)) throw error;
      return this.limits.breach('malformed', `sent a malformed line (${error.message})`);
    }
    if (message.kind === 'response') {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      pending.resolve(message);
      return;
    }
    if (this.overBudget(socket)) return;
    try {
      this.handleRequest(socket, message, line);
    } catch (error) {
      if (!(error instanceof PoolProtocolError)) throw error;
      this.limits.breach('bad_message', `sent a bad message: ${error.message}`);
    }
  }

  private handleRequest(socket: Socket, request: RpcRequest, rawLine: string): void {
    switch (request.method) {
      case 'mining.notify': {
        const job = decodeNotify(request.params);
        if (request.id === null) this.options.notifyCache?.set(rawLine, job);
        return this.jobArrived(job);
      }
      case 'mining.set_difficulty': {
        const difficulty = this.limits.difficulty(decodeSetDifficulty(request.params));
        // A job waiting to go out was issued under the old difficulty: it goes first.
        this.limits.jobs.flush();
        this.difficulty = difficulty;
        this.listener.onDifficulty(this.difficulty);
        return;
      }
      case 'mining.set_extranonce':
        if (!this.extranonce) return;
        this.extranonce = decodeSetExtranonce(request.params, this.extranonce);
        // A job still waiting was made for the old extranonce: void, as the channel's are.
        this.limits.jobs.discard();
        if (this.limits.firstTime('set_extranonce'))
          this.logger.log(
            `${this.label}: pool ${this.address} set extranonce (size ${this.extranonce.extranonce2Size}); further changes are not logged`,
          );
        this.listener.onExtranonce(this.extranonce);
        return;
      case 'mining.set_version_mask':
        this.versionMask = decodeSetVersionMask(request.params);
        this.listener.onVersionMask(this.versionMask);
        return;
      case 'client.reconnect':
        return this.reconnectRequested(socket, request);
      case 'client.show_message':
        if (this.limits.firstTime('show_message'))
          this.logger.log(`${this.label}: pool ${this.address} says: ${JSON.stringify(request.params).slice(0, 512)}`);
        if (request.id !== null) this.send(encodeResult(request.id, true));
        return;
      case 'mining.ping':
        if (request.id !== null) this.send(encodeResult(request.id, 'pong'));
        return;
      case 'client.get_version':
        if (request.id !== null) this.send(encodeResult(request.id, this.options.userAgent));
        return;
      default:
        if (request.id !== null) this.send(encodeError(request.id, [StratumErrorCode.Other, `unknown method ${request.method}`, null]));
    }
  }

  /** Follows client.reconnect only to the same host (a pool must not send miners elsewhere). */
  private reconnectRequested(socket: Socket, request: RpcRequest): void {
    const target = decodeReconnect(request.params);
    if (target.host !== null && target.host.toLowerCase() !== this.account.host.toLowerCase()) {
      return this.limits.breach('reconnect_refused', `asked to reconnect to another host ${target.host.slice(0, 255)}: refused`);
    }
    if (this.limits.firstTime('reconnect'))
      this.logger.log(
        `${this.label}: pool ${this.address} asked to reconnect to port ${target.port ?? this.port} in ${target.waitSeconds} s; further requests are not logged`,
      );
    this.port = target.port ?? this.port;
    this.backoff.waitNext(target.waitSeconds * 1000);
    this.down(socket, 'client.reconnect');
  }

  /** The newest job: it goes out now, or once the job interval since the last broadcast is over. */
  private jobArrived(job: PoolJob): void {
    this.lastJob = job;
    if (this.state === 'ready') this.limits.jobs.offer(job);
  }

  private request(method: string, params: unknown, timeoutMs?: number): Promise<RpcResponse | null> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const deadline = timeoutMs ? Date.now() + timeoutMs : Infinity;
      this.pending.set(id, { method, resolve, deadline });
      if (deadline < this.armedDeadline) this.armDeadlines(deadline);
      this.send(encodeRequest(id, method, params));
    });
  }

  /**
   * One timer for every request's deadline rather than one per share: it runs at the earliest deadline,
   * gives up what is due, and runs again at the next one.
   */
  private armDeadlines(deadline: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.armedDeadline = deadline;
    this.deadlineTimer = setTimeout(() => this.expireRequests(), Math.max(1, deadline - Date.now()));
  }

  private expireRequests(): void {
    this.deadlineTimer = null;
    this.armedDeadline = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [id, request] of this.pending) {
      if (request.deadline > now) {
        next = Math.min(next, request.deadline);
        continue;
      }
      this.pending.delete(id);
      request.resolve(null);
    }
    if (next !== Infinity) this.armDeadlines(next);
  }

  /**
   * Lines for the pool go out together once the current turn of the event loop is done: a channel carries
   * the shares of many miners, and one write of many lines costs the kernel about what one line does. They
   * wait as one string, not in a corked stream: cork and uncork cost the stream machinery more per line than
   * the kernel's write did.
   */
  private send(line: string): void {
    const socket = this.socket;
    if (!socket) return;
    if (this.outgoingSocket === socket) {
      this.outgoing += line;
      return;
    }
    // The first line of this turn, or the first for a new socket: what waited for the old one goes with it.
    if (this.outgoingSocket === null) setImmediate(this.flushOutgoing);
    this.outgoingSocket = socket;
    this.outgoing = line;
  }

  private readonly flushOutgoing = (): void => {
    const socket = this.outgoingSocket;
    const lines = this.outgoing;
    this.outgoingSocket = null;
    this.outgoing = '';
    if (socket && socket === this.socket && !socket.destroyed) socket.write(lines);
  };

  protected forget(reason: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    this.armedDeadline = Infinity;
    for (const request of pending) {
      request.resolve({ kind: 'response', id: null, result: null, error: [StratumErrorCode.Other, reason, null] });
    }
  }
}

/** The mask a pool granted in its configure answer; no answer or a refusal means no version rolling (0). */
function readConfiguredMask(response: RpcResponse | null): number {
  const result = response?.result as Record<string, unknown> | undefined;
  if (!result || typeof result !== 'object' || result['version-rolling'] !== true) return 0;
  const mask = result['version-rolling.mask'];
  return typeof mask === 'string' && /^[0-9a-fA-F]{8}$/.test(mask) ? Number.parseInt(mask, 16) >>> 0 : 0;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** dns.lookup that fails for any address that is not public, so that net.connect only reaches checked ones. */
export function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const refused = addresses.map((entry) => nonPublicReason(entry.address)).find((reason) => reason !== null);
    if (refused) return callback(Object.assign(new Error(`${hostname}: ${refused}`), { code: `${refused} (--pools.allowPrivate)` }), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

/** A TLS failure rather than a network one: OpenSSL's verification codes, Node's ERR_TLS_* and ERR_SSL_*, EPROTO. */
function isTlsError(error: NodeJS.ErrnoException): boolean {
  const code = error.code ?? '';
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code === 'EPROTO' || (code !== '' && !code.startsWith('E'));
}

/** "TLS <code>: <what OpenSSL said>", which reaches the miner's authorize answer. */
function tlsReason(error: NodeJS.ErrnoException): string {
  return `TLS ${error.code}: ${error.message}`.slice(0, 240);
}
