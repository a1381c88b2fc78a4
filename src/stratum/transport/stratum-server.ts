import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import { createServer, Server as NetServer, Socket } from 'node:net';
import { isObservable, lastValueFrom } from 'rxjs';
import type { AppConfig } from '../../config/app-config.js';
import { StratumError, StratumErrorCode } from '../../protocol/errors.js';
import { parseRpcLine, RpcParseError, RpcRequest } from '../../protocol/json-rpc.js';
import { LineSplitter, LineTooLongError, looksLikeJsonLine } from '../../protocol/line-splitter.js';
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

  /** Told of every protocol error and bad connection (kind: malformed, unknown_method, not_stratum, line_too_long). */
  onProtocolError: (kind: string) => void = () => undefined;

  constructor(private readonly config: AppConfig) {
    super();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(callback: (error?: unknown) => void): void {
    const { host, port } = this.config.stratumAddr;
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    server.maxConnections = this.config.stratum.maxConnections;
    const onError = (error: NodeJS.ErrnoException) => {
      server.close();
      callback(new Error(`cannot listen on --stratum.addr ${host}:${port}: ${describeListenError(error)}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', (error) => this.logger.error(`stratum listener: ${error.message}`));
      this.server = server;
      this.logger.log(`stratum listening on ${this.address()}`);
      callback();
    });
  }

  /** The bound address (useful with port 0). */
  address(): string {
    const bound = this.server?.address();
    return bound && typeof bound === 'object' ? `${bound.address}:${bound.port}` : '';
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const connection of this.connections) connection.close('server-shutdown');
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  on<K extends keyof StratumServerEvents>(event: K, callback: StratumServerEvents[K]): void {
    this.listeners[event].push(callback);
  }

  unwrap<T>(): T {
    if (!this.server) throw new Error('the Stratum server is not listening');
    return this.server as T;
  }

  private accept(socket: Socket): void {
    const limits = this.config.stratum;
    const connection = new StratumConnection(socket);
    const splitter = new LineSplitter(limits.maxLineLength);
    let sawFirstByte = false;
    let queue: Promise<void> = Promise.resolve();
    this.connections.add(connection);
    this.logger.debug?.(`connection ${connection.id} from ${connection.address}`);

    // The original's rule: a new connection must speak within the silence timeout.
    socket.setTimeout(limits.silenceTimeoutMs, () => connection.close(sawFirstByte ? 'idle-timeout' : 'silence-timeout'));
    socket.setKeepAlive(true, 60_000);

    socket.on('data', (chunk: Buffer) => {
      if (!connection.isOpen) return;
      if (!sawFirstByte) {
        if (!looksLikeJsonLine(chunk)) {
          this.onProtocolError('not_stratum');
          return connection.close('not-stratum');
        }
        sawFirstByte = true;
        socket.setTimeout(limits.idleTimeoutMs);
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
      for (const line of lines) queue = queue.then(() => this.handleLine(connection, line));
    });
    socket.on('error', () => connection.close('socket-error'));
    socket.on('close', () => connection.close('client-closed'));
    connection.onClose((reason) => {
      this.connections.delete(connection);
      this.logger.debug?.(`connection ${connection.id} from ${connection.address} closed: ${reason}`);
      for (const listener of this.listeners.close) listener(connection, reason);
    });
    for (const listener of this.listeners.connection) listener(connection);
  }

  private async handleLine(connection: StratumConnection, line: string): Promise<void> {
    if (!connection.isOpen) return;
    let request: RpcRequest;
    try {
      const message = parseRpcLine(line);
      if (message.kind !== 'request') return; // a miner answering our ping or get_version
      request = message;
    } catch (error) {
      if (!(error instanceof RpcParseError)) throw error;
      this.protocolError(connection, null, new StratumError(StratumErrorCode.Other, `malformed message: ${error.message}`));
      return;
    }
    const handler = this.handlerFor(request.method);
    if (!handler) {
      this.onProtocolError('unknown_method');
      this.protocolError(connection, request, new StratumError(StratumErrorCode.Other, `unknown method ${request.method}`), false);
      return;
    }
    try {
      const produced: unknown = await handler(request.params, new StratumContext([connection, request]));
      const result = isObservable(produced) ? await lastValueFrom(produced, { defaultValue: undefined }) : produced;
      if (result instanceof StratumError) this.protocolError(connection, request, result, false);
      else if (result !== undefined && request.id !== null) connection.replyResult(request.id, result);
    } catch (error) {
      // A thrown StratumError is a decoder refusing malformed params: it counts towards the error limit.
      const stratumError = toStratumError(error);
      if (stratumError) {
        this.protocolError(connection, request, stratumError);
        return;
      }
      this.logger.error(`connection ${connection.id} ${request.method}: ${String((error as Error)?.stack ?? error)}`);
      this.protocolError(connection, request, new StratumError(StratumErrorCode.Other, 'internal error'), false);
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
