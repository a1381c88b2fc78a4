import { ConsoleLogger, LoggerService } from '@nestjs/common';
import { parseCommandLine } from '../../src/config/app-config.js';
import { RunningProxy, startProxy } from '../../src/bootstrap.js';

/**
 * Starts the real app in this process on ephemeral ports; extra flags as on the command line. The API's
 * per-address rate limits are off unless a suite sets them (every request of a suite comes from 127.0.0.1).
 */
export async function startTestProxy(flags: string[], logger: LoggerService = testLogger()): Promise<RunningProxy> {
  // No token file beside the suites' databases: a suite that wants management passes --api.token.
  const defaults = [
    '--web.addr=127.0.0.1:0',
    '--stratum.addr=127.0.0.1:0',
    '--api.registrationRate=0',
    '--api.readRate=0',
    '--api.generateToken=false',
    // The simulated pools run far below the default vardiff minimum (0.0001) so that JS miners find shares
    // fast; suites that test the minimum set their own.
    `--vardiff.minDifficulty=${2 ** -30}`,
  ];
  const request = parseCommandLine([...defaults, ...flags], {});
  if (request.kind !== 'run') throw new Error('unexpected --help/--version');
  return startProxy(request.config, logger);
}

/** Errors only, unless TEST_LOG is set. */
export function testLogger(): ConsoleLogger {
  return new ConsoleLogger({ logLevels: process.env.TEST_LOG ? ['log', 'warn', 'error', 'debug'] : ['error'] });
}

/** Counts the lines the app logs at the default level (log, warn, error; printed as testLogger would). */
export class CountingLogger implements LoggerService {
  lines = 0;
  private readonly inner = testLogger();
  log(message: unknown, ...rest: unknown[]): void {
    this.lines++;
    this.inner.log(message, ...rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.lines++;
    this.inner.warn(message, ...rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.lines++;
    this.inner.error(message, ...rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.inner.debug(message, ...rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.inner.verbose(message, ...rest);
  }
}
