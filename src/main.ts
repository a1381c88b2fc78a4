#!/usr/bin/env node
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { parseCommandLine, helpText } from './config/app-config.js';
import { ConfigError } from './config/flags.js';
import { createAppLogger } from './logging/app-logger.js';
import { startProxy, StartupError } from './bootstrap.js';

const SHUTDOWN_GRACE_MS = 5000;

function packageVersion(): string {
  const url = new URL('../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

async function main(): Promise<number> {
  let request;
  try {
    request = parseCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`stratum-proxy: ${error.message}\n`);
    return 2;
  }
  if (request.kind === 'help') {
    process.stdout.write(`${helpText(packageVersion())}\n`);
    return 0;
  }
  if (request.kind === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }

  const { config } = request;
  const logger = createAppLogger(config.log);
  // Listen for signals before anything starts, so a signal during start-up also ends cleanly.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  let proxy;
  try {
    proxy = await startProxy(config, logger);
  } catch (error) {
    logger.error(error instanceof StartupError ? error.message : `cannot start: ${String((error as Error)?.stack ?? error)}`, 'Main');
    return 1;
  }
  logger.log(
    `stratum-proxy ${packageVersion()}: stratum ${proxy.stratumAddress}, web ${proxy.webAddress}, database ${config.database.type}`,
    'Main',
  );

  const signal = await stopSignal;
  logger.log(`${signal}: shutting down`, 'Main');
  // Whatever hangs, the process is gone within the grace period.
  setTimeout(() => {
    logger.error(`shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting`, 'Main');
    process.exit(1);
  }, SHUTDOWN_GRACE_MS).unref();
  await proxy.close();
  logger.log('stopped', 'Main');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Connections that outlive close() (keep-alive HTTP clients) must not hold the process.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    process.stderr.write(`stratum-proxy: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
