import { INestApplication, LoggerService, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import type { Server as HttpServer } from 'node:http';
import { DataSource } from 'typeorm';
import { AccountingService } from './accounting/accounting.service.js';
import { AppModule } from './app.module.js';
import { dataSourceOptions } from './database/data-source-options.js';
import { createValidationPipe } from './api/validation.js';
import type { AppConfig } from './config/app-config.js';
import { describeListenError, StratumServer } from './stratum/transport/stratum-server.js';

export interface RunningProxy {
  readonly app: INestApplication;
  readonly stratum: StratumServer;
  /** The bound addresses (useful with port 0). */
  readonly webAddress: string;
  readonly stratumAddress: string;
  close(): Promise<void>;
}

/** A start-up failure with a message meant for the operator (no stack trace needed). */
export class StartupError extends Error {}

/**
 * Builds and starts the hybrid app: HTTP (API, /metrics) on web.addr and the Stratum transport on stratum.addr.
 * Modules are initialised (database opened and migrated) before either listener accepts anything.
 */
export async function startProxy(config: AppConfig, logger: LoggerService): Promise<RunningProxy> {
  const dataSource = await openDatabase(config);
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, dataSource), {
      logger,
      bodyParser: false,
      abortOnError: false,
    });
  } catch (error) {
    await dataSource.destroy().catch(() => undefined);
    throw new StartupError(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  }
  const stratum = new StratumServer(config);
  try {
    app.setGlobalPrefix('api/v1', { exclude: [{ path: 'metrics', method: RequestMethod.GET }] });
    app.useGlobalPipes(createValidationPipe());
    app.disable('x-powered-by');
    app.connectMicroservice({ strategy: stratum }, { inheritAppConfig: true });
    const accounting = app.get(AccountingService);
    stratum.onProtocolError = (kind) => accounting.protocolError('miner', kind);
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
      await app.listen(port, host);
    } catch (error) {
      throw new StartupError(`cannot listen on --web.addr ${host}:${port}: ${describeListenError(error as NodeJS.ErrnoException)}`);
    }
    try {
      await app.startAllMicroservices();
    } catch (error) {
      throw new StartupError((error as Error).message);
    }
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const bound = (app.getHttpServer() as HttpServer).address();
  return {
    app,
    stratum,
    webAddress: bound && typeof bound === 'object' ? `${bound.address}:${bound.port}` : '',
    stratumAddress: stratum.address(),
    close: () => app.close(),
  };
}

/** Opens the database and runs pending migrations; any failure is one line naming the database. */
export async function openDatabase(config: AppConfig): Promise<DataSource> {
  const dataSource = new DataSource(dataSourceOptions(config.database));
  try {
    await dataSource.initialize();
    return dataSource;
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    const target =
      config.database.type === 'postgres'
        ? `PostgreSQL database ${redactUrl(config.database.url)}`
        : `SQLite database ${config.database.path}`;
    throw new StartupError(`cannot open or migrate the ${target}: ${error instanceof Error ? error.message : String(error)}`);
  }
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
