import { ConsoleLogger } from '@nestjs/common';
import { parseCommandLine } from '../../src/config/app-config.js';
import { RunningProxy, startProxy } from '../../src/bootstrap.js';

/** Starts the real app in this process on ephemeral ports; extra flags as on the command line. */
export async function startTestProxy(flags: string[]): Promise<RunningProxy> {
  const request = parseCommandLine(['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', ...flags], {});
  if (request.kind !== 'run') throw new Error('unexpected --help/--version');
  const logger = new ConsoleLogger({ logLevels: process.env.TEST_LOG ? ['log', 'warn', 'error', 'debug'] : ['error'] });
  return startProxy(request.config, logger);
}
