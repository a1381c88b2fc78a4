import { ConsoleLogger, LogLevel } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import type { LogLevelName } from '../config/flags.js';

const NEST_LEVELS: Record<LogLevelName, LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  verbose: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Nest's logger with the proxy's formats: text (date, colours on a terminal), syslog (neither) or JSON lines. */
class SyslogLogger extends ConsoleLogger {
  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    _pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
  ): string {
    return `${formattedLogLevel.trim()} ${contextMessage}${this.stringifyMessage(message, logLevel)}\n`;
  }
}

// Nest's start-up chatter (one line per module and route) is debug detail, not an event an operator needs.
const STARTUP_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'NestMicroservice',
]);

function quietStartup<T extends ConsoleLogger>(logger: T): T {
  const log = logger.log.bind(logger);
  logger.log = (message: unknown, ...rest: unknown[]) => {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && STARTUP_CONTEXTS.has(context)) logger.debug(message, ...rest);
    else log(message, ...rest);
  };
  return logger;
}

export function createAppLogger(log: AppConfig['log']): ConsoleLogger {
  const logLevels = NEST_LEVELS[log.level];
  if (log.format === 'json') return quietStartup(new ConsoleLogger({ json: true, logLevels, colors: false }));
  if (log.syslog) return quietStartup(new SyslogLogger({ logLevels, colors: false }));
  return quietStartup(new ConsoleLogger({ logLevels, colors: Boolean(process.stdout.isTTY) }));
}
