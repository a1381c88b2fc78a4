import { INestApplication, LoggerService, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import type { Server as HttpServer } from 'node:http';
import { DataSource } from 'typeorm';
import { AccountingService } from './accounting/accounting.service.js';
import { AppModule } from './app.module.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { AtRestError, sealPasswords } from './database/at-rest.js';
import { FileLock, NO_FILE_LOCK, prepareSqliteFile } from './database/sqlite-file.js';
import { SecretBox, useSecretBox } from './database/secrets.js';
import { ProxyState } from './health/proxy-state.js';
import { UpstreamChannels } from './upstream/channels.service.js';
import { createValidationPipe } from './api/validation.js';
import { forgetCreatedToken, GeneratedToken, loadOrCreateToken } from './api/generated-token.js';
import type { AppConfig } from './config/app-config.js';
import { describeListenError, StratumServer } from './stratum/transport/stratum-server.js';

export interface RunningProxy {
  readonly app: INestApplication;
  readonly stratum: StratumServer;
  /** The bound addresses (useful with port 0). */
  readonly webAddress: string;
  readonly stratumAddress: string;
  /** The TLS listener's bound address ('' without one). */
  readonly stratumTlsAddress: string;
  /** The management token the proxy keeps for itself (SQLite without --api.token), or null. */
  readonly generatedToken: GeneratedToken | null;
  /**
   * Stops taking miners (readiness answers 503), tells the connected ones to reconnect elsewhere when
   * --shutdown.reconnectTo is set, and waits up to --shutdown.drainTimeout for the pools' verdicts on
   * shares in flight. close() then flushes statistics and stops.
   */
  drain(): Promise<DrainReport>;
  close(): Promise<void>;
}

export interface DrainReport {
  readonly miners: number;
  readonly toldToReconnect: number;
  readonly sharesLeft: number;
  readonly waitedMs: number;
}

/** A start-up failure with a message meant for the operator (no stack trace needed). */
export class StartupError extends Error {}

/**
 * Builds and starts the hybrid app: HTTP (API, /metrics) on web.addr and the Stratum transport on stratum.addr.
 * Modules are initialised (database opened and migrated) before either listener accepts anything.
 */
export async function startProxy(given: AppConfig, logger: LoggerService): Promise<RunningProxy> {
  const { dataSource, lock } = await openDatabase(given, logger);
  let generatedToken: GeneratedToken | null = null;
  let config = given;
  if (config.apiTokenFile) {
    try {
      generatedToken = loadOrCreateToken(config.apiTokenFile);
    } catch (error) {
      await dataSource.destroy().catch(() => undefined);
      lock.release();
      throw new StartupError(`cannot use the management token file ${config.apiTokenFile}: ${(error as Error).message}`);
    }
    config = { ...config, apiToken: generatedToken.token };
  }
  // A start that fails leaves nothing behind it made: the lock, a new database file, a new token.
  const undo = () => {
    lock.release();
    forgetCreatedToken(generatedToken);
  };
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, dataSource), {
      logger,
      bodyParser: false,
      abortOnError: false,
    });
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    undo();
    throw new StartupError(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  const stratum = new StratumServer(config);
  try {
    app.setGlobalPrefix('api/v1', {
      exclude: ['metrics', 'healthz', 'readyz', '/', 'ui/:file'].map((path) => ({ path, method: RequestMethod.GET })),
    });
    app.useGlobalPipes(createValidationPipe());
    app.disable('x-powered-by');
    // The Stratum handlers take their params as `unknown` and validate them with the protocol decoders
    // (src/protocol/miner-messages.ts): the API's global ValidationPipe had nothing to check there, and it
    // and Nest's pipe plumbing were a fifth of what each share allocated.
    app.connectMicroservice({ strategy: stratum }, { inheritAppConfig: false });
    const accounting = app.get(AccountingService);
    stratum.onProtocolError = (kind) => accounting.protocolError('miner', kind);
    stratum.jobsFirst = app.get(UpstreamChannels).fanOut;
    stratum.on('close', (_connection, reason) => accounting.minerDisconnected(reason));
    try {
      await app.init();
    } catch (error) {
      throw new StartupError(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    }
    // Paths outside /api/v1 and /metrics get the same JSON 404 as unknown API routes.
    app.use((request: Request, response: Response) => {
      response.status(404).json({ statusCode: 404, error: `no route ${request.method} ${request.originalUrl.split('?')[0]}` });
    });
    const { host, port } = config.webAddr;
    try {
      // The server itself, not app.listen(): Nest would also log its own raw EADDRINUSE line beside ours.
      const server = app.getHttpServer() as HttpServer;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      throw new StartupError(`cannot listen on --web.addr ${host}:${port}: ${describeListenError(error as NodeJS.ErrnoException)}`);
    }
    try {
      await app.startAllMicroservices();
    } catch (error) {
      throw new StartupError((error as Error).message);
    }
    app.get(ProxyState).stratumListening = true;
  } catch (error) {
    await app.close().catch(() => undefined);
    undo();
    throw error;
  }
  // Started: the files this run created stay (until then, release() removes them).
  lock.keep();
  const bound = (app.getHttpServer() as HttpServer).address();
  return {
    app,
    stratum,
    webAddress: bound && typeof bound === 'object' ? `${bound.address}:${bound.port}` : '',
    stratumAddress: stratum.address(),
    stratumTlsAddress: stratum.tlsAddress(),
    generatedToken,
    drain: () => drain(app, stratum, config),
    close: async () => {
      await app.close();
      lock.release();
    },
  };
}

/** Time between looks at the shares still in flight while draining. */
const DRAIN_POLL_MS = 50;

async function drain(app: INestApplication, stratum: StratumServer, config: AppConfig): Promise<DrainReport> {
  const state = app.get(ProxyState);
  state.draining = true;
  stratum.stopAccepting();
  state.stratumListening = false;
  const miners = stratum.connectionCount;
  const target = config.shutdown.reconnectTo;
  const toldToReconnect = target ? stratum.askToReconnect(target.host, target.port) : 0;
  const upstream = app.get(UpstreamChannels);
  const started = Date.now();
  // Bounded by the drain timeout: the verdicts either come or are given up on.
  while (upstream.sharesInFlight() > 0 && Date.now() - started < config.shutdown.drainTimeoutMs)
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  return { miners, toldToReconnect, sharesLeft: upstream.sharesInFlight(), waitedMs: Date.now() - started };
}

/**
 * Opens the database and runs pending migrations, then brings the stored pool passwords in line with
 * PROXY_SECRET_KEY. SQLite's file is created readable by its owner only and locked to this process. Any
 * failure is one line naming the database.
 */
export async function openDatabase(config: AppConfig, logger?: LoggerService): Promise<{ dataSource: DataSource; lock: FileLock }> {
  const box = new SecretBox(config.secrets.key || null);
  useSecretBox(box);
  let lock: FileLock = NO_FILE_LOCK;
  if (config.database.type === 'sqlite') {
    try {
      const prepared = prepareSqliteFile(config.database.path);
      lock = prepared.lock;
      if (prepared.warning) logger?.warn(prepared.warning, 'Database');
    } catch (error) {
      throw new StartupError(`cannot use the SQLite database ${config.database.path}: ${(error as Error).message}`);
    }
  }
  const dataSource = new DataSource(dataSourceOptions(config.database));
  const target =
    config.database.type === 'postgres'
      ? `PostgreSQL database ${redactUrl(config.database.url)}`
      : `SQLite database ${config.database.path}`;
  try {
    await dataSource.initialize();
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    lock.release();
    throw new StartupError(`cannot open or migrate the ${target}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const previous = config.secrets.previousKey ? new SecretBox(config.secrets.previousKey) : null;
    const report = await sealPasswords(dataSource, box, previous);
    if (report.sealed > 0) logger?.log(`encrypted ${report.sealed} stored pool password(s) with PROXY_SECRET_KEY`, 'Database');
    if (report.resealed > 0) logger?.log(`re-encrypted ${report.resealed} pool password(s) from the previous key`, 'Database');
    if (!box.hasKey && report.plain > 0)
      logger?.log('pool passwords are stored as given (set PROXY_SECRET_KEY to encrypt them at rest)', 'Database');
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    lock.release();
    if (error instanceof AtRestError) throw new StartupError(`cannot use the ${target}: ${error.message}`);
    throw error;
  }
  return { dataSource, lock };
}

/** Hides the password of a database URL in log lines. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
