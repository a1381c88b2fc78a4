#!/usr/bin/env node
// First: the young generation is held before Nest, TypeORM and the drivers load (below, by import()).
import { releaseYoungGeneration } from './young-generation.js';
import { readFileSync } from 'node:fs';
import { parseCommandLine, helpText } from './config/app-config.js';
import { ConfigError } from './config/flags.js';

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

  // Loaded only now: the ES modules a static import names are all fetched before this file's first line runs.
  await import('reflect-metadata');
  const [{ createAppLogger }, { startProxy, StartupError }, { startupLines }] = await Promise.all([
    import('./logging/app-logger.js'),
    import('./bootstrap.js'),
    import('./startup-lines.js'),
  ]);
  const { config } = request;
  const logger = createAppLogger(config.log);
  // Listen for signals before anything starts, so a signal during start-up also ends cleanly. The first
  // one drains; a second one means the operator wants it gone now. One listener throughout: a moment with
  // none would let a signal kill the process outright.
  let signals = 0;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals === 1) return resolve(signal);
      logger.warn(`${signal} again: stopping at once`, 'Main');
      process.exit(1);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  let proxy;
  try {
    proxy = await startProxy(config, logger);
  } catch (error) {
    logger.error(error instanceof StartupError ? error.message : `cannot start: ${String((error as Error)?.stack ?? error)}`, 'Main');
    return 1;
  }
  for (const line of startupLines(config, proxy, packageVersion())) logger.log(line, 'Main');
  releaseYoungGeneration();

  const signal = await stopSignal;
  logger.log(`${signal}: draining (a second signal stops at once)`, 'Main');
  // Whatever hangs, the process is gone within the drain time and a grace period.
  setTimeout(() => {
    logger.error(`shutdown took longer than the drain time and ${SHUTDOWN_GRACE_MS} ms; exiting`, 'Main');
    process.exit(1);
  }, config.shutdown.drainTimeoutMs + SHUTDOWN_GRACE_MS).unref();
  const drained = await proxy.drain();
  const told =
    drained.toldToReconnect > 0
      ? `, ${drained.toldToReconnect} told to reconnect to ${config.shutdown.reconnectTo!.host}:${config.shutdown.reconnectTo!.port}`
      : '';
  logger.log(
    `drained in ${drained.waitedMs} ms: ${drained.miners} miners${told}, ${drained.sharesLeft} shares still without a verdict`,
    'Main',
  );
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
