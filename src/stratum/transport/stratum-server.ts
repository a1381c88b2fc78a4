import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { readFileSync, watch } from 'node:fs';
import { createSecureContext, createServer as createTlsServer, Server as TlsServer, TLSSocket } from 'node:tls';
import { createServer, Server as NetServer, Socket } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isObservable, lastValueFrom } from 'rxjs';
import type { AppConfig } from '../../config/app-config.js';
import { StratumError, StratumErrorCode } from '../../protocol/errors.js';
import { encodeNotification, parseRpcLine, RpcParseError, RpcRequest } from '../../protocol/json-rpc.js';
import { LineQueue } from '../../protocol/line-queue.js';
import { LineSplitter, LineTooLongError, looksLikeJsonLine } from '../../protocol/line-splitter.js';
import { parseProxyHeader, PROXY_HEADER_MAX_BYTES } from '../../protocol/proxy-protocol.js';
import { CloseReason, StratumConnection } from './stratum-connection.js';
import { StratumContext } from './stratum.context.js';

/** Transport id for `@MessagePattern('mining.subscribe', STRATUM)`. */
export const STRATUM = Symbol('STRATUM');

export interface StratumServerEvents extends Record<string, Function> {
  connection: (connection: StratumConnection) => void;
  close: (connection: StratumConnection, reason: CloseReason) => void;
}

/**
 * The miner-facing Stratum listener: a Nest custom transport over node:net. Each connection's messages are
 * handled one after another in arrival order; a handler that has nothing to say yet (a submit waiting for the
 * pool) returns undefined and answers later, so it never holds up the next message.
 */
export class StratumServer extends Server<StratumServerEvents> implements CustomTransportStrategy {
  override transportId = STRATUM;
  protected override readonly logger = new Logger(StratumServer.name);
  private server: NetServer | null = null;
  private readonly connections = new Set<StratumConnection>();
  private readonly handlerCache = new Map<string, MessageHandler | null>();
  private readonly listeners: { [K in keyof StratumServerEvents]: StratumServerEvents[K][] } = { connection: [], close: [] };
  /** Open connections per remote IP address. */
  private readonly perAddress = new Map<string, number>();
  /** Addresses already warned about for --stratum.maxConnectionsPerAddress (logged once each, bounded). */
  private readonly addressesWarned = new Set<string>();
  /** PROXY header problems logged so far (the first few only; all are counted). */
  private proxyWarnings = 0;
  private tlsServer: TlsServer | null = null;
  private tlsWarnings = 0;
  /** Closes connections without a useful message for --stratum.idleTimeout: one timer for all of them. */
  private idleSweep: NodeJS.Timeout | null = null;
  /** Undo the certificate reload triggers (SIGHUP listener, file watchers). */
  private readonly stopReloading: (() => void)[] = [];
  /** The miner connections accepted at once: the flag, or what the open-file limit allows. */
  maxConnections = 0;

  /** Broadcasts that go before the miners' lines when the core cannot keep up (the channels' fan-out). */
  jobsFirst: { readonly holdsShares: boolean; released(): Promise<void> } | null = null;

  /** Told of every protocol error and bad connection (kind: malformed, unknown_method, not_stratum, line_too_long). */
  onProtocolError: (kind: string) => void = () => undefined;

  constructor(private readonly config: AppConfig) {
    super();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get isListening(): boolean {
    return this.server?.listening ?? false;
  }

  /**
   * Stops accepting miners at once; those connected stay (a drain lets their shares finish). The listener's
   * own close completes when the last connection has gone (close()).
   */
  stopAccepting(): void {
    if (this.server?.listening) this.server.close();
    if (this.tlsServer?.listening) this.tlsServer.close();
  }

  /** Asks every connected miner to reconnect to host:port (client.reconnect), e.g. another instance. */
  askToReconnect(host: string, port: number): number {
    const line = encodeNotification('client.reconnect', [host, port, 0]);
    for (const connection of this.connections) connection.write(line);
    return this.connections.size;
  }

  listen(callback: (error?: unknown) => void): void {
    const { host, port } = this.config.stratumAddr;
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket, false));
    this.maxConnections = this.connectionBudget();
    server.maxConnections = this.maxConnections;
    const onError = (error: NodeJS.ErrnoException) => {
      server.close();
      callback(new Error(`cannot listen on --stratum.addr ${host}:${port}: ${describeListenError(error)}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', (error) => this.logger.error(`stratum listener: ${error.message}`));
      this.server = server;
      this.logger.log(`stratum listening on ${this.address()}, up to ${this.maxConnections} miner connections`);
      if (!this.config.stratumTls) return callback();
      this.listenTls().then(
        () => callback(),
        (error: Error) => {
          server.close();
          callback(error);
        },
      );
    });
  }

  /** The bound address of the TLS listener ('' without one). */
  tlsAddress(): string {
    const bound = this.tlsServer?.address();
    return bound && typeof bound === 'object' ? `${bound.address}:${bound.port}` : '';
  }

  /**
   * The TLS listener beside the plain one: the same sessions, handlers and limits. A handshake that does
   * not finish within --stratum.tls.handshakeTimeout is closed and counted; the certificate is read again on
   * SIGHUP or when its files change, and a bad file keeps the old one.
   */
  private async listenTls(): Promise<void> {
    const options = this.config.stratumTls!;
    const context = readTlsFiles(options.certPath, options.keyPath);
    const server = createTlsServer({ ...context, handshakeTimeout: options.handshakeTimeoutMs }, (socket) => this.accept(socket, true));
    server.maxConnections = this.maxConnections;
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      // Node reports a handshake that timed out or failed but leaves the connection open: close it.
      socket.destroy();
      this.onProtocolError('tls_handshake');
      if (this.tlsWarnings++ < 10) this.logger.warn(`TLS handshake with a miner failed: ${error.code ?? error.message}`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on --stratum.tls.addr ${options.addr.host}:${options.addr.port}: ${describeListenError(error)}`)),
      );
      server.listen(options.addr.port, options.addr.host, () => resolve());
    });
    server.on('error', (error) => this.logger.error(`stratum TLS listener: ${error.message}`));
    this.tlsServer = server;
    this.logger.log(`stratum TLS listening on ${this.tlsAddress()}`);
    const reload = () => this.reloadCertificate();
    process.on('SIGHUP', reload);
    this.stopReloading.push(() => process.off('SIGHUP', reload));
    for (const file of [options.certPath, options.keyPath]) {
      // Renewal tools replace the file: watch the directory entry, and settle a burst of changes into one reload.
      let timer: NodeJS.Timeout | null = null;
      const watcher = watch(file, () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(reload, 200);
      });
      watcher.on('error', () => undefined);
      this.stopReloading.push(() => {
        if (timer) clearTimeout(timer);
        watcher.close();
      });
    }
  }

  /** Reads the certificate and key again; miners connected keep their connections (new ones get the new one). */
  reloadCertificate(): boolean {
    const options = this.config.stratumTls;
    if (!options || !this.tlsServer) return false;
    try {
      this.tlsServer.setSecureContext(readTlsFiles(options.certPath, options.keyPath));
      this.logger.log(`TLS certificate reloaded from ${options.certPath}`);
      return true;
    } catch (error) {
      this.logger.error(`TLS certificate reload failed, keeping the old one: ${(error as Error).message}`);
      return false;
    }
  }

  /**
   * --stratum.maxConnections, or (0) what the open-file limit leaves after descriptors kept for the pool
   * connections, the API and /metrics, and the database: past it the listener refuses miners, not them.
   */
  private connectionBudget(): number {
    const { maxConnections } = this.config.stratum;
    const limit = openFileLimit();
    if (limit === null) return maxConnections > 0 ? maxConnections : FALLBACK_MAX_CONNECTIONS;
    // One pool connection per miner with --upstream.aggregation 1; far fewer otherwise.
    const perMiner = this.config.upstream.aggregation === 1 ? 2 : 1 + 1 / this.config.upstream.aggregation;
    const reserved = Math.max(RESERVED_DESCRIPTORS, Math.ceil(limit * 0.05));
    const allowed = Math.max(1, Math.floor((limit - reserved) / perMiner));
    if (maxConnections === 0) {
      this.logger.log(
        `open-file limit ${limit}: accepting up to ${allowed} miners (${reserved} descriptors kept for pools, API and database)`,
      );
      return allowed;
    }
    if (maxConnections > allowed)
      this.logger.warn(
        `--stratum.maxConnections ${maxConnections} is more than the open-file limit ${limit} allows (${allowed}): /metrics, the API and pool connections may fail when it is reached`,
      );
    return maxConnections;
  }

  /** The bound address (useful with port 0). */
  address(): string {
    const bound = this.server?.address();
    return bound && typeof bound === 'object' ? `${bound.address}:${bound.port}` : '';
  }

  /**
   * One timer for every connection's idle deadline (a timer each cost memory per miner): connections that
   * sent nothing useful for --stratum.idleTimeout are closed, within a tenth of it.
   */
  private startIdleSweep(): void {
    if (this.idleSweep) return;
    const idleMs = this.config.stratum.idleTimeoutMs;
    this.idleSweep = setInterval(
      () => {
        const cutoff = Date.now() - idleMs;
        for (const connection of this.connections)
          if (connection.lastUsefulAt !== 0 && connection.lastUsefulAt < cutoff) connection.close('idle-timeout');
      },
      Math.max(50, Math.min(30_000, idleMs / 10)),
    );
    this.idleSweep.unref();
  }

  async close(): Promise<void> {
    if (this.idleSweep) clearInterval(this.idleSweep);
    this.idleSweep = null;
    const servers = [this.server, this.tlsServer];
    this.server = null;
    this.tlsServer = null;
    for (const stop of this.stopReloading.splice(0)) stop();
    for (const connection of this.connections) connection.close('server-shutdown');
    for (const server of servers)
      if (server) await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }

  on<K extends keyof StratumServerEvents>(event: K, callback: StratumServerEvents[K]): void {
    this.listeners[event].push(callback);
  }

  unwrap<T>(): T {
    if (!this.server) throw new Error('the Stratum server is not listening');
    return this.server as T;
  }

  private accept(socket: Socket, tls: boolean): void {
    const limits = this.config.stratum;
    const connection = new StratumConnection(socket, limits, (kind) => this.onProtocolError(kind));
    connection.tls = tls;
    let ip: string | null = null;
    const splitter = new LineSplitter(limits.maxLineLength);
    const backlog = new LineQueue();
    let sawFirstByte = false;
    let pumping = false;
    let lineTimer: NodeJS.Timeout | null = null;
    this.connections.add(connection);
    this.logger.debug?.(`connection ${connection.id} from ${connection.address}`);

    // The original's rule: a new connection must speak within the silence timeout.
    socket.setTimeout(limits.silenceTimeoutMs, () => connection.close('silence-timeout'));
    socket.setKeepAlive(true, 60_000);

    // Lines are served a few per turn of the event loop, so that one connection never holds up the others;
    // while its backlog is full its socket is paused and the kernel's buffers push back on the sender.
    const pump = async () => {
      pumping = true;
      while (backlog.length > 0 && connection.isOpen) {
        for (let served = 0; served < LINES_PER_TURN && backlog.length > 0 && connection.isOpen; served++) {
          if (this.jobsFirst?.holdsShares) await this.jobsFirst.released();
          if (!connection.isOpen) break;
          if (await this.handleLine(connection, backlog.shift())) connection.lastUsefulAt = Date.now();
        }
        if (socket.isPaused() && backlog.length <= MAX_BACKLOG / 2 && connection.isOpen) socket.resume();
        if (backlog.length > 0) await nextTurn();
      }
      pumping = false;
    };

    const onData = (chunk: Buffer) => {
      if (!connection.isOpen) return;
      if (!sawFirstByte) {
        if (!looksLikeJsonLine(chunk)) {
          this.onProtocolError('not_stratum');
          return connection.close('not-stratum');
        }
        sawFirstByte = true;
        // From now on only useful messages keep the connection: junk and bytes trickled in do not.
        socket.setTimeout(0);
        connection.lastUsefulAt = Date.now();
        this.startIdleSweep();
      }
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (error) {
        if (error instanceof LineTooLongError) {
          this.onProtocolError('line_too_long');
          return connection.close('line-too-long');
        }
        throw error;
      }
      // A line begun must be finished in time: one byte a minute cannot hold a descriptor for ever.
      if (splitter.bufferedBytes === 0) {
        if (lineTimer) clearTimeout(lineTimer);
        lineTimer = null;
      } else if (lines.length > 0 || !lineTimer) {
        if (lineTimer) clearTimeout(lineTimer);
        lineTimer = setTimeout(() => {
          this.onProtocolError('line_timeout');
          connection.close('line-timeout');
        }, limits.lineTimeoutMs);
      }
      if (lines.length === 0) return;
      backlog.push(lines);
      if (backlog.length >= MAX_BACKLOG) socket.pause();
      if (!pumping) void pump();
    };
    // Behind a load balancer speaking the PROXY protocol, the first bytes name the miner; nothing else is taken before.
    let header: Buffer | null = limits.proxyProtocol ? Buffer.alloc(0) : null;
    socket.on('data', (chunk: Buffer) => {
      if (header === null) return onData(chunk);
      if (!connection.isOpen) return;
      header = Buffer.concat([header, chunk]);
      const parsed = parseProxyHeader(header);
      if (parsed.kind === 'incomplete' && header.length <= PROXY_HEADER_MAX_BYTES) return;
      if (parsed.kind !== 'header') {
        this.onProtocolError('proxy_protocol');
        if (this.proxyWarnings++ < 10)
          this.logger.warn(
            `connection from ${connection.address}: ${parsed.kind === 'invalid' ? parsed.reason : 'PROXY header too long'} (--stratum.proxyProtocol is on)`,
          );
        return connection.close('proxy-protocol');
      }
      if (parsed.source) connection.setSource(parsed.source.address, parsed.source.port);
      const rest = header.subarray(parsed.length);
      header = null;
      if (!admit()) return;
      if (rest.length > 0) onData(rest);
    });
    socket.on('error', () => connection.close('socket-error'));
    socket.on('close', () => connection.close('client-closed'));
    connection.onClose((reason) => {
      if (lineTimer) clearTimeout(lineTimer);
      backlog.clear();
      this.connections.delete(connection);
      if (ip !== null) {
        const left = (this.perAddress.get(ip) ?? 1) - 1;
        if (left > 0) this.perAddress.set(ip, left);
        else this.perAddress.delete(ip);
      }
      this.logger.debug?.(`connection ${connection.id} from ${connection.address} closed: ${reason}`);
      for (const listener of this.listeners.close) listener(connection, reason);
    });
    // Counted per miner address: the socket's, or the one the PROXY header gave.
    const admit = (): boolean => {
      ip = connection.remoteAddress;
      const fromAddress = (this.perAddress.get(ip) ?? 0) + 1;
      this.perAddress.set(ip, fromAddress);
      const perAddressLimit = limits.maxConnectionsPerAddress;
      if (perAddressLimit > 0 && fromAddress > perAddressLimit) {
        if (this.addressesWarned.size < 1000 && !this.addressesWarned.has(ip)) {
          this.addressesWarned.add(ip);
          this.logger.warn(`${ip}: more than ${perAddressLimit} connections (--stratum.maxConnectionsPerAddress): refusing the excess`);
        }
        this.onProtocolError('address_limit');
        connection.close('address-limit');
        return false;
      }
      return true;
    };
    if (header === null && !admit()) return;
    for (const listener of this.listeners.connection) listener(connection);
  }

  /** Handles one line; true when it was a useful message (one that keeps an idle connection open). */
  private async handleLine(connection: StratumConnection, line: string): Promise<boolean> {
    if (!connection.isOpen) return false;
    let request: RpcRequest;
    try {
      const message = parseRpcLine(line);
      if (message.kind !== 'request') {
        // The proxy asks miners nothing: an answer is noise.
        connection.junk('response');
        return false;
      }
      request = message;
    } catch (error) {
      if (!(error instanceof RpcParseError)) throw error;
      const answered = error.id === null ? null : { kind: 'request' as const, id: error.id, method: '', params: [] };
      this.protocolError(connection, answered, new StratumError(StratumErrorCode.Other, `malformed message: ${error.message}`));
      return false;
    }
    const handler = this.handlerFor(request.method);
    if (!handler) {
      connection.junk('unknown_method');
      this.protocolError(connection, request, new StratumError(StratumErrorCode.Other, `unknown method ${request.method}`), false);
      return false;
    }
    // A notification gets no answer: a miner sending those is not talking Stratum as miners do.
    if (request.id === null) connection.junk('notification');
    try {
      const produced: unknown = await handler(request.params, new StratumContext([connection, request]));
      const result = isObservable(produced) ? await lastValueFrom(produced, { defaultValue: undefined }) : produced;
      if (result instanceof StratumError) this.protocolError(connection, request, result, false);
      else if (result !== undefined && request.id !== null) connection.replyResult(request.id, result);
      return request.id !== null;
    } catch (error) {
      // A thrown StratumError is a decoder refusing malformed params: it counts towards the error limit.
      const stratumError = toStratumError(error);
      if (stratumError) {
        this.protocolError(connection, request, stratumError);
        return false;
      }
      if (connection.firstTime('internal-error'))
        this.logger.error(`connection ${connection.id} ${request.method}: ${String((error as Error)?.stack ?? error)}`);
      this.protocolError(connection, request, new StratumError(StratumErrorCode.Other, 'internal error'), false);
      return false;
    }
  }

  /** Nest normalizes the pattern on every lookup; methods are few, so remember the answer. */
  private handlerFor(method: string): MessageHandler | null {
    let handler = this.handlerCache.get(method);
    if (handler === undefined) {
      handler = this.getHandlerByPattern(method);
      if (this.handlerCache.size < 64) this.handlerCache.set(method, handler);
    }
    return handler;
  }

  /** Answers with a Stratum error; malformed input counts towards the limit that closes the connection. */
  private protocolError(connection: StratumConnection, request: RpcRequest | null, error: StratumError, malformed = true): void {
    if (request === null || request.id !== null) connection.replyError(request?.id ?? null, error.toTuple());
    if (malformed) this.onProtocolError('malformed');
    if (malformed && ++connection.protocolErrors >= this.config.stratum.maxProtocolErrors) connection.close('too-many-errors');
  }
}

/** Lines of one connection handled per turn of the event loop. */
const LINES_PER_TURN = 16;
/** Lines waiting on one connection before its socket is paused (resumed at half). */
const MAX_BACKLOG = 256;
/** Descriptors kept for everything but miners (at least; 5 % of the limit when that is more). */
const RESERVED_DESCRIPTORS = 256;
/** Where the open-file limit cannot be read (not Linux). */
const FALLBACK_MAX_CONNECTIONS = 50_000;

/** The listener's certificate and key, read now (a missing or bad file throws, naming it). */
function readTlsFiles(certPath: string, keyPath: string): { cert: Buffer; key: Buffer } {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const files = { cert: read(certPath, 'certificate'), key: read(keyPath, 'key') };
  // Checked here, so that a bad pair is refused with a clear message rather than at the first handshake.
  try {
    createSecureContext(files);
  } catch (error) {
    throw new Error(`the TLS certificate ${certPath} and key ${keyPath} do not make a usable pair: ${(error as Error).message}`);
  }
  return files;
}

/** The soft open-file limit of this process (Linux: /proc/self/limits), or null when unknown. */
export function openFileLimit(): number | null {
  try {
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!match || match[1] === 'unlimited') return null;
    return Number(match[1]);
  } catch {
    return null;
  }
}

function toStratumError(error: unknown): StratumError | null {
  if (error instanceof StratumError) return error;
  // Nest's RPC exception filter rethrows RpcException payloads as plain objects.
  const payload = error as { code?: unknown; message?: unknown };
  if (payload && typeof payload.code === 'number' && typeof payload.message === 'string')
    return new StratumError(payload.code, payload.message);
  return null;
}

export function describeListenError(error: NodeJS.ErrnoException): string {
  if (error.code === 'EADDRINUSE') return 'address already in use';
  if (error.code === 'EACCES') return 'permission denied';
  if (error.code === 'EADDRNOTAVAIL') return 'address not available on this machine';
  return error.message;
}
